"""Text: public review text fetched politely, and TF-IDF "top terms" per artist and album."""
