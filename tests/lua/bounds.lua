print("testing bounds")
