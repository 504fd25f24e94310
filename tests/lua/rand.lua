print("testing rand")
