print("testing badinput")
