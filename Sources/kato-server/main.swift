print("kato-server: not yet")
