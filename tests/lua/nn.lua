print("testing nn")
