print("testing prelude")
