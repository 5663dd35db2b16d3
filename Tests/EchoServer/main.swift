print("echo server: not yet")
