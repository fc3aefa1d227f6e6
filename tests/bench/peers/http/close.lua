-- wrk script: every request asks for "Connection: close", so each costs an accept, a
-- connection start and a close. run.sh puts it in front of report.lua (WRK_LUA=close.lua).
wrk.headers["Connection"] = "close"
