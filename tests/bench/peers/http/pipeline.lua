-- wrk script: HTTP/1.1 pipelining, PIPE_DEPTH requests (default 16) for PIPE_PATH (default /)
-- in each write, so the server, not wrk, is the limit. run.sh puts it in front of report.lua:
--   PIPE_DEPTH=16 PIPE_PATH=/ WRK_LUA=pipeline.lua run.sh PORT /
init = function(args)
  local depth = tonumber(os.getenv("PIPE_DEPTH") or "16")
  local path = os.getenv("PIPE_PATH") or "/"
  local r = {}
  for i = 1, depth do r[i] = wrk.format("GET", path) end
  req = table.concat(r)
end

request = function()
  return req
end
