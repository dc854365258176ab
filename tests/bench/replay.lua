-- wrk script: replays POSTs prepared beforehand (tests/bench/wrkpost.py), each
-- one once. The file has one request per line: PATH <TAB> COOKIE <TAB> BODY.
-- Each wrk thread takes every Nth line; a thread that runs out stops, so no
-- request is ever sent twice (a second use of a CAPTCHA would be refused).
--
--   wrk -t2 -c16 -d5s -s replay.lua URL -- FILE THREADS [COOKIES]
--
-- COOKIES: a path prefix; each thread appends the session cookies the server
-- sets (a step that leads on from a form rotates the session) to COOKIES.N.

local counter = 0
local threads = {}

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs = {}
local next_req = 0
-- Per-thread counts by status (numbers: wrk copies only plain values between threads).
local codes = {200, 303, 400, 403, 404, 422, 429, 500, 503}

local cookie_out = nil

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   if args[3] then
      cookie_out = io.open(args[3] .. "." .. index, "a")
   end
   local n = 0
   for line in io.lines(file) do
      if n % nthreads == index then
         local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
         if body == "" then
            -- A GET (the memory benchmark mixes pages and documents in).
            local h = {}
            if cookie ~= "" then h["Cookie"] = cookie end
            reqs[#reqs + 1] = wrk.format("GET", path, h)
         else
            reqs[#reqs + 1] = wrk.format("POST", path, {
               ["Cookie"] = cookie,
               ["Content-Type"] = "application/x-www-form-urlencoded",
            }, body)
         end
      end
      n = n + 1
   end
end

function request()
   next_req = next_req + 1
   if next_req > #reqs then
      exhausted = true
      wrk.thread:stop()
      -- One last request must be returned; it goes to a path that writes nothing.
      return wrk.format("GET", "/afiliate/")
   end
   return reqs[next_req]
end

function response(status, headers, body)
   local name = "st_" .. status
   _G[name] = (_G[name] or 0) + 1
   -- Behind the cluster's balancer: which node answered (scripts/cluster.py).
   local node = headers["X-Afiliate-Node"]
   if node then
      _G["by_" .. node] = (_G["by_" .. node] or 0) + 1
   end
   local set = headers["Set-Cookie"]
   if cookie_out and set and not set:find("Max-Age=0", 1, true) then
      local token = set:match("afiliate_tramite=(%x+)")
      if token then
         cookie_out:write(token, "\n")
         cookie_out:flush()
      end
   end
   if next_req > #reqs then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      for _, c in ipairs(codes) do
         local v = t:get("st_" .. c)
         if v then total[c] = (total[c] or 0) + v end
      end
   end
   for _, t in ipairs(threads) do
      if t:get("exhausted") then io.write("exhausted\n") break end
   end
   local nodes = {}
   for i = 1, 8 do
      local n = 0
      for _, t in ipairs(threads) do n = n + (t:get("by_node" .. i) or 0) end
      if n > 0 then nodes[#nodes + 1] = "node" .. i .. "=" .. n end
   end
   io.write("nodes " .. table.concat(nodes, " ") .. "\n")
   local parts = {}
   for k, v in pairs(total) do parts[#parts + 1] = k .. "=" .. v end
   table.sort(parts)
   io.write("statuses " .. table.concat(parts, " ") .. "\n")
   for _, p in ipairs({50, 90, 99}) do
      io.write(string.format("p%d_us %d\n", p, latency:percentile(p)))
   end
end
