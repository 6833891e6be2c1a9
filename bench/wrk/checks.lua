-- wrk script of bench/bench_checks.py and bench/bench_integration.py: checks with random
-- NIKs and rotating keys through one of the doors (or GET of the URL's own path), count the
-- answers by status, print them as JSON at the end.
--
-- wrk reads the script before any thread exists, so the settings come from the environment:
--   WRK_NIKS  file of NIKs, one a line; unset: GET the URL as given (e.g. /healthz)
--   WRK_KEYS  file of API keys, one a line (with WRK_NIKS)
--   WRK_MODE  which door and how (with WRK_NIKS; default checks):
--             checks     POST /v1/checks, no Idempotency-Key
--             fresh-key  POST /v1/checks, a new Idempotency-Key on every request
--             replay     POST /v1/checks, one of REPLAY_PAIRS fixed keys with its fixed body:
--                        after the first of each, every answer is an idempotent replay
--             fhir       POST /fhir/R4/CoverageEligibilityRequest/$submit
--             batch      POST /v1/checks/batch with BATCH_ITEMS checks
--             audit-replay  GET /v1/audit/checks/{id}/replay, WRK_NIKS holding check ids
--                        and WRK_KEYS auditor keys
--   WRK_RUN   a word that makes this run's fresh keys unlike any other run's
--   WRK_RATE  requests per second of each wrk thread; unset: as fast as answers come
--   WRK_STOP  seconds after the first request from which nothing new is sent, so that every
--             request sent is answered before wrk's --duration ends (records = answers)
-- The last line printed is `BENCH_RESULT {json}`: statuses, answers, replayed answers,
-- elapsed, latency (µs).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
    return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local function read_lines(path)
    local lines = {}
    for line in io.lines(path) do
        if line ~= "" then
            lines[#lines + 1] = line
        end
    end
    assert(#lines > 0, "no lines in " .. path)
    return lines
end

local niks_file = os.getenv("WRK_NIKS")
local rate = tonumber(os.getenv("WRK_RATE") or "")
local stop_after_ms = tonumber(os.getenv("WRK_STOP") or "")
stop_after_ms = stop_after_ms and stop_after_ms * 1000

local SERVICE_TYPES = { "outpatient", "outpatient", "outpatient", "inpatient", "emergency" }
local MODE = os.getenv("WRK_MODE") or "checks"
local RUN = os.getenv("WRK_RUN") or "run"
local REPLAY_PAIRS = 64
local BATCH_ITEMS = 100
local FHIR_BODY = '{"resourceType": "CoverageEligibilityRequest", "status": "active", '
    .. '"purpose": ["validation"], "created": "2026-12-06T09:00:00+08:00", '
    .. '"insurer": {"display": "Jamkesda Kukar"}, '
    .. '"patient": {"identifier": {"system": "https://fhir.kemkes.go.id/id/nik", "value": "%s"}}, '
    .. '"identifier": [{"value": "%s"}], "enterer": {"identifier": {"value": "bench-%d"}}, '
    .. '"extension": [{"url": "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/service-type", '
    .. '"valueCode": "%s"}]}'
local niks, keys

-- Per thread (each wrk thread runs its own copy of this script).
statuses = {}
answers = 0
replayed = 0
first_ms = nil
last_ms = nil
local next_slot_ms = nil
local sent = 0

local threads = {}

function setup(thread)
    thread:set("thread_number", #threads + 1)
    threads[#threads + 1] = thread
end

function init(_args)
    math.randomseed(os.time() * 100 + (thread_number or 0))
    if niks_file then
        niks = read_lines(niks_file)
        keys = read_lines(assert(os.getenv("WRK_KEYS"), "WRK_KEYS is not set"))
    end
end

local function check_body(nik, reference)
    return string.format(
        '{"nik": "%s", "service_type": "%s", "operator_id": "bench-%d", "external_ref": "%s"}',
        nik, SERVICE_TYPES[math.random(#SERVICE_TYPES)], thread_number or 0, reference
    )
end

local function batch_body()
    local items = {}
    for item = 1, BATCH_ITEMS do
        items[item] = check_body(niks[math.random(#niks)], string.format("R%d-%d", sent, item))
    end
    return '{"checks": [' .. table.concat(items, ", ") .. "]}"
end

function request()
    first_ms = first_ms or now_ms()
    sent = sent + 1
    if not niks then
        return wrk.format("GET")
    end
    local reference = string.format("R%d-%d", thread_number or 0, sent)
    local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. keys[math.random(#keys)],
    }
    if MODE == "audit-replay" then
        local path = "/v1/audit/checks/" .. niks[math.random(#niks)] .. "/replay"
        return wrk.format("GET", path, { ["Authorization"] = headers["Authorization"] })
    end
    if MODE == "replay" then
        -- A fixed pair each time: the same client, key and body bytes.
        local pair = math.random(REPLAY_PAIRS)
        math.randomseed(pair)
        local body = check_body(niks[pair], "REPLAY-" .. pair)
        math.randomseed(os.time() * 1000 + sent)
        headers["Authorization"] = "Bearer " .. keys[pair % #keys + 1]
        headers["Idempotency-Key"] = string.format("replay-%d", pair)
        return wrk.format("POST", "/v1/checks", headers, body)
    end
    if MODE == "fresh-key" then
        headers["Idempotency-Key"] = string.format("%s-%d-%d", RUN, thread_number or 0, sent)
    elseif MODE == "fhir" then
        headers["Content-Type"] = "application/fhir+json"
        local body = string.format(
            FHIR_BODY, niks[math.random(#niks)], reference, thread_number or 0,
            SERVICE_TYPES[math.random(#SERVICE_TYPES)]
        )
        return wrk.format("POST", "/fhir/R4/CoverageEligibilityRequest/$submit", headers, body)
    elseif MODE == "batch" then
        return wrk.format("POST", "/v1/checks/batch", headers, batch_body())
    end
    return wrk.format("POST", "/v1/checks", headers, check_body(niks[math.random(#niks)], reference))
end

function response(status, headers, _body)
    last_ms = now_ms()
    answers = answers + 1
    if headers["Idempotent-Replayed"] then
        replayed = replayed + 1
    end
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
end

-- Defined only when needed: wrk paces requests only for a script that has delay().
if rate or stop_after_ms then
    local interval_ms = rate and 1000 / rate or 0
    function delay()
        local now = now_ms()
        if stop_after_ms and first_ms and now - first_ms >= stop_after_ms then
            return 3600 * 1000 -- past the stop: send nothing more, let wrk's duration end
        end
        -- A schedule of evenly spaced slots, one per request, shared by the thread's
        -- connections; a slot missed because answers were slow is not made up later.
        next_slot_ms = math.max((next_slot_ms or now) + interval_ms, now)
        return math.floor(next_slot_ms - now + 0.5)
    end
end

local function json_object(map)
    local parts = {}
    for key, value in pairs(map) do
        parts[#parts + 1] = string.format('"%s": %s', key, tostring(value))
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, _requests)
    local total_statuses, total_answers, total_replayed = {}, 0, 0
    local started, ended = nil, nil
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            total_statuses[status] = (total_statuses[status] or 0) + count
        end
        total_answers = total_answers + thread:get("answers")
        total_replayed = total_replayed + thread:get("replayed")
        local first, last = thread:get("first_ms"), thread:get("last_ms")
        if first and (not started or first < started) then started = first end
        if last and (not ended or last > ended) then ended = last end
    end
    local errors = summary.errors
    local result = {
        statuses = json_object(total_statuses),
        answers = total_answers,
        replayed = total_replayed,
        elapsed_s = (started and ended) and (ended - started) / 1000 or 0,
        socket_errors = json_object({
            connect = errors.connect, read = errors.read, write = errors.write,
            timeout = errors.timeout,
        }),
        latency_us = json_object({
            p50 = latency:percentile(50), p90 = latency:percentile(90),
            p99 = latency:percentile(99), max = latency.max, mean = latency.mean,
        }),
    }
    io.write("BENCH_RESULT " .. json_object(result) .. "\n")
end
