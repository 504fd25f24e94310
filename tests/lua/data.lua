print("testing data")
