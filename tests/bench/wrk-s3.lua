-- wrk script of tests/bench: random S3 GETs over a list of objects.
--   wrk ... -s wrk-s3.lua URL -- LISTFILE MODE SIZE PAGE SEED
-- LISTFILE: lines "PATH SIZE" (PATH is /bucket/key). MODE:
--   aligned    Range of SIZE bytes starting on a random PAGE boundary
--   unaligned  Range of SIZE bytes that crosses a random PAGE boundary (never starts on one)
--   whole      no Range: the whole object
--   file       LISTFILE is instead a file of complete raw requests separated by NUL bytes
--              (bench.py writes SigV4-signed ones there), sent as they are
-- Requests are built once per thread (8192 of them) and picked at random, so the client spends
-- its CPU on HTTP rather than on Lua. done() prints one machine-readable line for bench.py.

local reqs = {}

local function build(path, size, mode, len, page)
   if mode == "whole" then
      return wrk.format("GET", path)
   end
   local first, last
   if mode == "aligned" then
      local slots = math.floor((size - len) / page)
      first = math.random(0, slots) * page
   else -- unaligned: cross a boundary b, b in 1 .. pages-1
      local pages = math.floor(size / page)
      local b = math.random(1, pages - 1) * page
      first = b - math.random(1, len - 1)
      if first + len > size then first = size - len end
   end
   last = first + len - 1
   return wrk.format("GET", path, { ["Range"] = string.format("bytes=%d-%d", first, last) })
end

function init(args)
   local list, mode = args[1], args[2]
   local len, page, seed = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
   math.randomseed(seed)
   if mode == "file" then
      local f = assert(io.open(list, "rb"))
      local data = f:read("*a")
      f:close()
      for req in data:gmatch("[^%z]+") do reqs[#reqs + 1] = req end
      return
   end
   local objs = {}
   for line in io.lines(list) do
      local p, s = line:match("^(%S+)%s+(%d+)$")
      if p then objs[#objs + 1] = { p, tonumber(s) } end
   end
   for i = 1, 8192 do
      local o = objs[math.random(#objs)]
      reqs[i] = build(o[1], o[2], mode, len, page)
   end
end

function request()
   return reqs[math.random(#reqs)]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d bytes=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.0f max_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, summary.bytes, summary.duration,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
