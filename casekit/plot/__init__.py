"""The plot layer: house-style figures drawn from the rules' DataFrames, saved
byte-identically."""
