-- wrk script: HTTP/1.1 pipelining.
-- Usage: wrk -t1 -c256 -d10s -s pipeline.lua http://HOST:PORT/plaintext -- 16
-- Every write sends DEPTH (default 16) back-to-back GET requests on one
-- connection; wrk counts each response separately, so "Requests/sec" is
-- responses per second.

local req

init = function(args)
   local depth = tonumber(args[1]) or 16
   local parts = {}
   for i = 1, depth do
      parts[i] = wrk.format()
   end
   req = table.concat(parts)
end

request = function()
   return req
end
