"""A mood journal that belongs to the person (kept in their browser, never on our disk):
entries.py makes, checks, merges and exports entries; views.py says what they show (by
hour, by day, in a sentence); suggestions.py offers light-hearted ideas from
suggestions.csv."""
