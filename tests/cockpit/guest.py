print("1..0 # placeholder")
