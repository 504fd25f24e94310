print("testing otdd")
