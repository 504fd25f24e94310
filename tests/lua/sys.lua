print("testing sys")
