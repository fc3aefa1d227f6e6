-- wrk script: POST a multipart form with a title and a 1 MiB file (bytes i*7 mod 251, CRs
-- included, as fetch_bench --parse sends).
local pattern = {}
for i = 0, 250 do pattern[#pattern + 1] = string.char(i * 7 % 251) end
local file = string.rep(table.concat(pattern), math.ceil(1048576 / 251)):sub(1, 1048576)
local b = "----dynamo-bench-boundary"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHoliday\r\n" ..
  "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n" ..
  "Content-Type: image/jpeg\r\n\r\n" .. file .. "\r\n--" .. b .. "--\r\n"
