"""Small input files shared by the unit tests of several modules."""

# A raw penguins file as fetch stores it: NA cells and an empty one.
RAW = """species,island,bill_length_mm,body_mass_g
Adelie,Torgersen,39.1,3750
Adelie,Torgersen,NA,NA
Chinstrap,Dream,46.5,3500
Gentoo,Biscoe,46.1,4500
Gentoo,Biscoe,50.0,
"""
