-- search.lua: wrk script for GET /v1/availability with varied dates, lengths, places and care
-- profiles, mostly as caregivers, some as coordinator and referrer. Only reads; never books.
-- Arguments (after wrk's --): tokens file ("role token" lines), municipalities file
-- ("code lat lon" lines), noon UTC of today as epoch seconds, and "check" to read the answers.
--
-- wrk shares the two cores with the server, so what it spends a request is taken from the
-- server. The requests are made in init(), before the clock runs, and answers are not read
-- unless asked ("check": status and empty results counted), as wrk's own SCRIPTING advises:
-- building each request in Lua and handing each 13 KB answer to Lua cost wrk about as much CPU
-- a search as logeerd spent answering it, while the ceiling's client (plain.lua) does neither.
-- Unread, a run reports requests answered below 400 as count[ok] (wrk counts the others).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local PROFILES = {"somatic", "dementia", "disability", "psychiatric", "youth"}
local FUNDING = {"pgb", "wlz", "wmo", "private"}

-- Requests made in init() and sent in turn. As many as the search log meets different
-- searches in a busy minute of fresh random ones (SEARCH_LOG_MAX_KEYS): with fewer, its table
-- would stay small and its minutes' rows few, work that real varied searches do cost. The
-- server keeps no answers, so a repeat costs it the same as a new one. About 0.3 s and 20 MB.
local NREQUESTS = 65536

local by_role = {caregiver = {}, coordinator = {}, referrer = {}}
local munis = {}
local dates
local requests = {}
local next_request = 0
local make_request -- below; init() fills requests with it

function setup(thread)
    common.setup(thread)
end

function init(args)
    for _, line in ipairs(common.read_lines(args[1])) do
        local f = common.fields(line)
        if by_role[f[1]] then
            table.insert(by_role[f[1]], f[2])
        end
    end
    assert(#by_role.caregiver > 0, "no caregiver tokens")
    for _, line in ipairs(common.read_lines(args[2])) do
        local f = common.fields(line)
        munis[#munis + 1] = {code = f[1], lat = f[2], lon = f[3]}
    end
    dates = common.dates(tonumber(args[3]), 730)
    math.randomseed(os.time())
    for i = 1, NREQUESTS do
        requests[i] = make_request()
    end
    if args[4] ~= "check" then
        response = nil -- wrk then neither keeps nor parses the answers
    end
    common.publish()
end

local function pick(t)
    return t[math.random(#t)]
end

-- Who asks: caregivers mostly (planned beds), the coordinator and a referrer sometimes.
local function token()
    local r = math.random()
    if r < 0.10 and #by_role.coordinator > 0 then
        return pick(by_role.coordinator)
    elseif r < 0.15 and #by_role.referrer > 0 then
        return pick(by_role.referrer)
    end
    return pick(by_role.caregiver)
end

function make_request()
    local nights = math.random(1, 14)
    local q = {"check_in=" .. dates[math.random(1, 600)], "nights=" .. nights}
    local r = math.random()
    local m = pick(munis)
    if r < 0.45 then
        -- In one municipality, sometimes for one care profile.
        q[#q + 1] = "municipality=" .. m.code
        if math.random() < 0.5 then
            q[#q + 1] = "care_profile=" .. pick(PROFILES)
        end
    elseif r < 0.75 then
        -- Around a point, nearest first, with a few days' slack.
        q[#q + 1] = "lat=" .. m.lat
        q[#q + 1] = "lon=" .. m.lon
        q[#q + 1] = "radius_km=" .. math.random(10, 40)
        q[#q + 1] = "flex_days=" .. math.random(0, 3)
        q[#q + 1] = "care_profile=" .. pick(PROFILES)
    else
        -- The whole country for one profile and funding: the widest scan.
        q[#q + 1] = "care_profile=" .. pick(PROFILES)
        q[#q + 1] = "funding=" .. pick(FUNDING)
        q[#q + 1] = "flex_days=" .. math.random(0, 7)
    end
    return wrk.format("GET", "/v1/availability?" .. table.concat(q, "&"),
                      {["Authorization"] = "Bearer " .. token()})
end

function request()
    next_request = next_request % NREQUESTS + 1
    return requests[next_request]
end

function response(status, headers, body)
    common.count_response(status, body)
    if status == 200 and body:find('"count":0,', 1, true) then
        common.count("empty_results")
    end
end

function done(summary, latency)
    common.report("search", summary, latency)
end
