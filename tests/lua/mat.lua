print("testing mat")
