print("testing flow")
