print("testing io")
