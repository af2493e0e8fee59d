//! The render plan: which files a volume gets and what they contain.
