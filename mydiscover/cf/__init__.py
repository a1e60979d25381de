"""Collaborative filtering: public co-listening data, models, the user folded in."""
