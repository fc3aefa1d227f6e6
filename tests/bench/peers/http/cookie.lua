-- wrk script: every request carries the Cookie header given in the environment (WRK_COOKIE),
-- as a browser sends its session cookie back.
wrk.headers["Cookie"] = os.getenv("WRK_COOKIE")
