-- acmepipe.serve: chooses the certificate of each TLS handshake in nginx
-- (ssl_certificate_by_lua_block) from an acmepipe file store, and keeps the
-- parsed certificates and keys in a per-worker LRU cache, so a handshake
-- costs what a static ssl_certificate costs. Used by
-- scripts/nginx-acmepipe-lua.conf; acmepipe-store(5), SERVING WITH NGINX.
--
--   init_by_lua_block { require("acmepipe.serve").init({ store = DIR, ... }) }
--   ssl_certificate_by_lua_block { require("acmepipe.serve").certificate() }
--
-- The lookup, in this order: the SNI name in lower case (certs/NAME.pem);
-- else the wildcard one label up (certs/_.PARENT.pem); a handshake without
-- SNI, the certificate of the address it came in on (certs/ADDRESS.pem,
-- the address in its canonical text form, RFC 5952 for IPv6). A name the
-- store has no certificate for is remembered as such for unknown_fresh
-- seconds, so a flood of handshakes for it does not become a flood of
-- file opens.
--
-- Freshness: a cached certificate is used for `fresh` seconds; then its
-- file is read again (one small read) and parsed again only when it
-- changed. A certificate that certstore-put or the mirror replaces is thus
-- served within `fresh` seconds, with no reload. Each certificate is read
-- from one open of its file, the chain and the key from the same bytes:
-- the store replaces the file by rename(2), so a handshake never pairs one
-- version's certificate with another's key.
--
-- Nothing here touches the network: the mirror (certstore mirror --follow)
-- keeps the local files current.

local ssl = require("ngx.ssl")
local lrucache = require("resty.lrucache")

local _M = {}

local conf = {
	store = "/var/lib/acmepipe/store",
	cache_size = 10000, -- certificates kept parsed, per worker
	fresh = 5, -- seconds a cached certificate is used before its file is read again
	unknown_size = 10000, -- names without a certificate remembered, per worker
	unknown_fresh = 10, -- seconds such a name is remembered
}

local certs, unknown

-- init(options): in init_by_lua_block. Unknown options are an error, so a
-- misspelt one stops nginx -t instead of being ignored.
function _M.init(options)
	for k, v in pairs(options or {}) do
		if conf[k] == nil then
			error("acmepipe.serve: unknown option " .. tostring(k))
		end
		if type(v) ~= type(conf[k]) then
			error("acmepipe.serve: option " .. k .. " must be a " .. type(conf[k]))
		end
		conf[k] = v
	end
	if conf.cache_size < 1 or conf.unknown_size < 1 or conf.fresh < 0 or conf.unknown_fresh < 0 then
		error("acmepipe.serve: cache sizes must be at least 1, times at least 0")
	end
	certs = assert(lrucache.new(conf.cache_size))
	unknown = assert(lrucache.new(conf.unknown_size))
end

-- A name that may become part of a path: host-name characters only, no
-- empty label (so no ".."), at most 253 bytes. Lower case already.
local function valid_name(name)
	return #name > 0 and #name <= 253 and not name:find("[^a-z0-9.-]")
		and not name:find("..", 1, true) and name:sub(1, 1) ~= "." and name:sub(-1) ~= "."
end

-- The canonical text of a raw address: dotted quad, or RFC 5952 (lower
-- case, no leading zeros, the longest run of two or more zero groups as
-- "::", the first of equal runs). An IPv4-mapped IPv6 address is the IPv4
-- address.
local function address_name(raw, kind)
	if kind == "inet" and #raw == 4 then
		return string.format("%d.%d.%d.%d", raw:byte(1, 4))
	end
	if kind ~= "inet6" or #raw ~= 16 then
		return nil
	end
	local g = {}
	for i = 1, 8 do
		g[i] = raw:byte(2 * i - 1) * 256 + raw:byte(2 * i)
	end
	if g[1] == 0 and g[2] == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0 and g[6] == 0xffff then
		return string.format("%d.%d.%d.%d", raw:byte(13, 16))
	end
	local best, best_len, i = 0, 1, 1
	while i <= 8 do
		if g[i] == 0 then
			local j = i
			while j <= 8 and g[j] == 0 do
				j = j + 1
			end
			if j - i > best_len then
				best, best_len = i, j - i
			end
			i = j
		else
			i = i + 1
		end
	end
	local parts = {}
	for k = 1, 8 do
		parts[k] = string.format("%x", g[k])
	end
	if best == 0 then
		return table.concat(parts, ":")
	end
	return table.concat(parts, ":", 1, best - 1) .. "::" .. table.concat(parts, ":", best + best_len, 8)
end

-- read(file): the whole file, or nil and why. A file that does not exist
-- is nil, nil: the name is unknown, not broken.
local function read(file)
	local f, err, code = io.open(conf.store .. "/certs/" .. file .. ".pem", "rb")
	if not f then
		if code == 2 then -- ENOENT
			return nil, nil
		end
		return nil, err
	end
	local pem
	pem, err = f:read("*a")
	f:close()
	if not pem then
		return nil, file .. ".pem: " .. tostring(err)
	end
	return pem
end

-- The parsed objects live in OpenSSL's memory, about 12 KiB a certificate
-- (bench/RESULTS.md), which LuaJIT's collector does not see: to it an
-- evicted entry is a few small objects, so it would let thousands pile up
-- before it frees them. A full collection every GC_LOADS loads bounds that
-- garbage; it costs a few milliseconds per thousand loads, each of which
-- costs half a millisecond of parsing.
local GC_LOADS = 1000
local loads = 0

-- load(file, pem): a cache entry for the bytes of file, or nil and why.
local function load(file, pem)
	loads = loads + 1
	if loads >= GC_LOADS then
		loads = 0
		collectgarbage()
	end
	local chain, err = ssl.parse_pem_cert(pem)
	if not chain then
		return nil, file .. ".pem: no certificate: " .. tostring(err)
	end
	local key
	key, err = ssl.parse_pem_priv_key(pem)
	if not key then
		return nil, file .. ".pem: no private key: " .. tostring(err)
	end
	return { file = file, pem = ngx.sha1_bin(pem), chain = chain, key = key }
end

-- find(name, candidates): the entry for name, from the cache while fresh,
-- else from the first candidate file that exists. nil, nil when none
-- exists; nil, why when one exists and cannot be used.
local function find(name, candidates)
	local entry, stale = certs:get(name)
	if entry then
		return entry
	end
	for _, file in ipairs(candidates) do
		local pem, err = read(file)
		if err then
			return nil, err
		end
		if pem then
			-- Unchanged since it was parsed: keep the parsed objects.
			if stale and stale.file == file and stale.pem == ngx.sha1_bin(pem) then
				entry = stale
			else
				entry, err = load(file, pem)
				if not entry then
					return nil, err
				end
			end
			certs:set(name, entry, conf.fresh)
			return entry
		end
	end
	certs:delete(name)
	return nil, nil
end

-- set(name, entry): hands entry's chain and key to this handshake.
local function set(name, entry)
	-- Nothing to clear: the placeholder certificate of the server is never
	-- loaded, so the connection starts with none.
	local ok, err = ssl.set_cert(entry.chain)
	if ok then
		ok, err = ssl.set_priv_key(entry.key)
	end
	if not ok then
		certs:delete(name)
		ngx.log(ngx.ERR, "acmepipe: ", entry.file, ".pem: ", err)
		return ngx.exit(ngx.ERROR)
	end
end

-- certificate(): in ssl_certificate_by_lua_block. Sets the chain and key,
-- or fails the handshake with one log line.
function _M.certificate()
	if not certs then
		_M.init({})
	end
	local name, err = ssl.server_name()
	local sni = name ~= nil
	if sni then
		name = name:lower()
		-- The common case first: only valid names are ever cached.
		local entry = certs:get(name)
		if entry then
			return set(name, entry)
		end
		if not valid_name(name) then
			-- Not logged as sent: it may be long or hold any byte.
			ngx.log(ngx.INFO, "acmepipe: SNI name refused (", #name, " bytes, not a host name)")
			return ngx.exit(ngx.ERROR)
		end
	elseif err then
		ngx.log(ngx.ERR, "acmepipe: no server name: ", err)
		return ngx.exit(ngx.ERROR)
	else
		local raw, kind = ssl.raw_server_addr()
		name = raw and address_name(raw, kind)
		if not name then
			ngx.log(ngx.INFO, "acmepipe: no SNI name and no address to look up")
			return ngx.exit(ngx.ERROR)
		end
	end
	if unknown:get(name) then
		return ngx.exit(ngx.ERROR)
	end
	local candidates = { name }
	-- A wildcard for names, not for addresses.
	local parent = sni and name:match("^[^.]+%.(.+%..+)$")
	if parent then
		candidates[2] = "_." .. parent
	end
	local entry
	entry, err = find(name, candidates)
	if not entry then
		unknown:set(name, true, conf.unknown_fresh)
		if err then
			ngx.log(ngx.ERR, "acmepipe: ", err)
		else
			ngx.log(ngx.INFO, "acmepipe: no certificate for ", name)
		end
		return ngx.exit(ngx.ERROR)
	end
	return set(name, entry)
end

return _M
