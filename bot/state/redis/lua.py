"""The Lua scripts of the Redis state store: the steps that must be atomic on the server.

Each names its keys from the prefix it is given (KEYS[1]) rather than declaring them all, so the
store needs one Redis server (or a primary with replicas), not Redis Cluster.
"""

# The duplicate check and the inbox insert in one atomic step: ARGV = ttl_ms, then (id, call, body)
# triples. Returns, per triple, 1 when the id was new (stored) and 0 when it was seen before: an id
# repeated among the triples is new at its first place only.
INGEST = """
local prefix = KEYS[1]
local fresh = {}
for i = 2, #ARGV, 3 do
    local id, call, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if redis.call('SET', prefix .. 'seen:' .. id, '1', 'NX', 'PX', ARGV[1]) then
        local seq = redis.call('INCR', prefix .. 'inbox:seq')
        redis.call('ZADD', prefix .. 'inbox', seq, id)
        redis.call('ZADD', prefix .. 'inbox:call:' .. call, seq, id)
        redis.call('HSET', prefix .. 'inbox:events', id, body)
        redis.call('HSET', prefix .. 'inbox:calls', id, call)
        fresh[#fresh + 1] = 1
    else
        fresh[#fresh + 1] = 0
    end
end
return fresh
"""
# Take a free lease, or extend our own: ARGV = owner, ttl_ms. 1 when we hold it afterwards.
ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
COMPLETE = """
local prefix = KEYS[1]
for i = 1, #ARGV do
    local id = ARGV[i]
    local call = redis.call('HGET', prefix .. 'inbox:calls', id)
    if call then
        redis.call('ZREM', prefix .. 'inbox:call:' .. call, id)
        redis.call('HDEL', prefix .. 'inbox:calls', id)
    end
    redis.call('ZREM', prefix .. 'inbox', id)
    redis.call('HDEL', prefix .. 'inbox:events', id)
end
return 0
"""

# Call records and history entries written behind (`bot.state.redis.calls`), all in one step.
# KEYS[1] = prefix. ARGV = retention_ms, max_events, record count, then 6 per record (id, JSON,
# start score, live 1/0, room id, end score), then per call with entries: id, trim 1/0, expire
# 1/0 (the call is over: its history expires with it), entry count, the entries.
WRITE_CALLS = """
local p = KEYS[1]
local retention, cap = ARGV[1], tonumber(ARGV[2])
local i = 4
for _ = 1, tonumber(ARGV[3]) do
    local id, json, started, room = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 4]
    redis.call('ZADD', p .. 'calls', started, id)
    if ARGV[i + 3] == '1' then
        redis.call('SET', p .. 'call:' .. id, json)
        redis.call('ZADD', p .. 'calls:live', started, id)
        redis.call('ZADD', p .. 'room:' .. room .. ':live', started, id)
    else
        redis.call('SET', p .. 'call:' .. id, json, 'PX', retention)
        redis.call('PEXPIRE', p .. 'events:' .. id, retention)
        redis.call('ZADD', p .. 'calls:ended', ARGV[i + 5], id)
        redis.call('ZREM', p .. 'calls:live', id)
        redis.call('ZREM', p .. 'room:' .. room .. ':live', id)
    end
    i = i + 6
end
while i <= #ARGV do
    local key = p .. 'events:' .. ARGV[i]
    local trim, expire, count = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
    local first = i + 4
    -- In slices: unpack is bounded by Lua's stack.
    for start = first, first + count - 1, 1000 do
        redis.call('RPUSH', key, unpack(ARGV, start, math.min(start + 999, first + count - 1)))
    end
    if trim == '1' then
        redis.call('LTRIM', key, -cap, -1)
    end
    if expire == '1' then
        redis.call('PEXPIRE', key, retention)
    end
    i = first + count
end
return 0
"""
