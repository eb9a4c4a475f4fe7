-- The HTTP benchmark's load (bench/http_load.py runs `wrk -t N -c N -s bench/wrk.lua`).
--
-- One connection per wrk thread, so each thread's state is one connection's: the
-- response to a request is seen (`response`) before that connection's next request is
-- made (`request`). The settings come from the Lua file named by OKRPLAN_WRK_CONFIG
-- (written by bench/http_load.py): the kind of request, the headers, and for plan saves each
-- connection's own child KR, its values and its current version.
--
-- Kinds: "plan" (PUT the plan of the connection's child: a real change each time, with
-- the version read from the previous response), "floor_write" (PUT the same body to the
-- floor), "get" (GET `paths`), and "mix" (plan, alignment and page in turn, for the
-- memory soak).

local config = dofile(os.getenv("OKRPLAN_WRK_CONFIG"))
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local me, kr, version, base, turn, answered, last, bad

local function body()
  -- Alternate +1 / -1 on every value: each save changes the plan.
  local delta = (turn % 2 == 0) and 1 or -1
  local parts = {}
  for i, v in ipairs(base) do
    parts[i] = tostring(v + delta)
  end
  return '{"values": [' .. table.concat(parts, ", ") .. '], "version": ' .. version ..
    ', "rationale": "bench"}'
end

function init(args)
  me = id
  turn, answered, bad = 0, 0, 0
  local mine = config.connections[((me - 1) % #config.connections) + 1]
  kr, version, base = mine.kr, mine.version, mine.values
end

local function put(path)
  local headers = {}
  for k, v in pairs(config.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return wrk.format("PUT", path, headers, body())
end

local function get(path, headers)
  return wrk.format("GET", path, headers)
end

function request()
  turn = turn + 1
  local kind = config.kind
  if kind == "mix" then
    local kinds = {"plan", "alignment", "page"}
    kind = kinds[(turn - 1) % 3 + 1]
  end
  last = kind
  if kind == "plan" then
    return put(string.format(config.plan_path, kr))
  elseif kind == "floor_write" then
    return put(string.format(config.floor_write_path, kr))
  elseif kind == "alignment" then
    return get(config.alignment_path, config.headers)
  elseif kind == "page" then
    return get(config.page_path, config.page_headers)
  end
  return get(config.path, config.headers)
end

function response(status, headers, resp)
  answered = answered + 1
  if last == "plan" and (status == 200 or status == 409) then
    -- The new version, or on a 409 (a save still in flight when the previous run
    -- stopped) the current one, which the 409's body carries: the next save is current.
    version = tonumber(string.match(resp, '"version":%s*(%d+)'))
  end
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'OKRPLAN_WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.connect, errors.read, errors.write,
    errors.timeout, errors.status))
end
