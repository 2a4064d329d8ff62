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

local unknown -- names without a certificate: resty.lrucache

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
-- is nil, nil: the name is unknown, not broken. Defined below, with the
-- FFI: open(2) and read(2) into one buffer kept per worker, no stdio FILE
-- (io.open's userdata has a finalizer for the collector to run, and its
-- buffer is allocated and copied at every open).
local read

-- Parsing, through LuaJIT's FFI straight into libcrypto. ngx.ssl's
-- parse_pem_cert and parse_pem_priv_key cost about 0.5 ms a file with
-- OpenSSL 3.0: each private key, and each certificate's public key, is
-- decoded by a decoder chain built afresh for it (OSSL_DECODER_CTX_new_for_pkey
-- walks every algorithm of every provider). Here the PEM blocks are read
-- raw (base64 only); an issuer's certificate, which a store's chains share,
-- is parsed once and shared; an EC key is parsed without a decoder, any
-- other key by one decoder chain built once per worker. The leaf is parsed
-- in a library context without providers, where that public-key step
-- finds nothing at once, and is then given the private key as its public
-- key: kept only when that key's SubjectPublicKeyInfo is the certificate's,
-- byte for byte. Otherwise, and for keys other than EC, the leaf is parsed
-- the ordinary way.
local ffi = require("ffi")
local C = ffi.C

-- Pointers are void *: other modules may declare OpenSSL's types.
ffi.cdef([[
void *BIO_new_mem_buf(const void *buf, int len);
int BIO_free(void *bio);
int PEM_read_bio(void *bio, char **name, char **header, unsigned char **data, long *len);
void CRYPTO_free(void *ptr, const char *file, int line);
void CRYPTO_clear_free(void *ptr, size_t num, const char *file, int line);
void *d2i_X509(void **x, const unsigned char **in, long len);
void *X509_get_X509_PUBKEY(const void *x);
int i2d_X509_PUBKEY(const void *pubkey, unsigned char **out);
void *X509_new_ex(void *libctx, const char *propq);
int X509_set_pubkey(void *x, void *pkey);
int X509_check_private_key(const void *x, const void *pkey);
int X509_get_signature_info(void *x, int *mdnid, int *pknid, int *secbits, uint32_t *flags);
void *OSSL_LIB_CTX_new(void);
void *OSSL_PROVIDER_load(void *libctx, const char *name);
int OPENSSL_sk_unshift(void *sk, const void *data);
void *d2i_PKCS8_PRIV_KEY_INFO(void **p8, const unsigned char **in, long len);
void PKCS8_PRIV_KEY_INFO_free(void *p8);
int PKCS8_pkey_get0(const void **alg, const unsigned char **pk, int *pklen, const void **algor, const void *p8);
void X509_ALGOR_get0(const void **obj, int *type, const void **value, const void *algor);
int OBJ_obj2nid(const void *obj);
void *d2i_ECPrivateKey(void **key, const unsigned char **in, long len);
void EC_KEY_free(void *key);
void *EVP_PKEY_new(void);
int EVP_PKEY_assign(void *pkey, int type, void *key);
int X509_up_ref(void *x);
void X509_free(void *x);
void *OPENSSL_sk_new_null(void);
int OPENSSL_sk_push(void *sk, const void *data);
void OPENSSL_sk_pop_free(void *sk, void (*func)(void *));
void *OSSL_DECODER_CTX_new_for_pkey(void **pkey, const char *input_type, const char *input_struct,
	const char *keytype, int selection, void *libctx, const char *propquery);
int OSSL_DECODER_from_data(void *ctx, const unsigned char **data, size_t *len);
void EVP_PKEY_free(void *pkey);
unsigned long ERR_peek_last_error(void);
void ERR_clear_error(void);
void ERR_error_string_n(unsigned long e, char *buf, size_t len);
void *EC_GROUP_new_by_curve_name(int nid);
void *EC_KEY_new(void);
int EC_KEY_set_group(void *key, const void *group);
int open(const char *path, int flags);
long read(int fd, void *buf, size_t count);
int close(int fd);
char *strerror(int errnum);
]])

local EVP_PKEY_KEYPAIR = 0x87 -- openssl/evp.h: public, private and parameters
local NID_EC = 408 -- NID_X9_62_id_ecPublicKey, also EVP_PKEY_EC
local V_ASN1_OBJECT = 6
local ISSUERS_MAX = 64 -- distinct issuers kept parsed; a store has a handful

local name_p, header_p = ffi.new("char *[1]"), ffi.new("char *[1]")
local data_p, len_p = ffi.new("unsigned char *[1]"), ffi.new("long[1]")
local in_p, size_p = ffi.new("const unsigned char *[1]"), ffi.new("size_t[1]")
local errbuf = ffi.new("char[256]")
local ptr_p, ptr2_p, int_p = ffi.new("const void *[1]"), ffi.new("const void *[1]"), ffi.new("int[1]")
local obj_p, out_p = ffi.new("void *[1]"), ffi.new("unsigned char *[1]")
local x509_free = ffi.cast("void (*)(void *)", C.X509_free)

local O_RDONLY, O_CLOEXEC = 0, 0x80000 -- Linux's, on every Debian architecture
local ENOENT, EINTR = 2, 4
-- A chain and its key take a few KiB: a file larger than this is not one,
-- and reading it would keep a buffer of its size for the worker's life.
local FILE_MAX = 1048576
-- The buffer grows for a larger file, up to one byte past FILE_MAX: a
-- file that fills that byte is too large.
local buf_size = 65536
local buf = ffi.new("char[?]", buf_size)

read = function(file)
	local fd = C.open(conf.store .. "/certs/" .. file .. ".pem", O_RDONLY + O_CLOEXEC)
	local e = fd < 0 and ffi.errno()
	if e == ENOENT then
		return nil, nil
	elseif e then
		return nil, file .. ".pem: " .. ffi.string(C.strerror(e))
	end
	local n, why = 0, nil
	while true do
		if n == buf_size and n > FILE_MAX then
			why = "larger than " .. FILE_MAX .. " bytes"
			break
		elseif n == buf_size then
			local size = math.min(2 * buf_size, FILE_MAX + 1)
			local bigger = ffi.new("char[?]", size)
			ffi.copy(bigger, buf, n)
			buf, buf_size = bigger, size
		end
		local got = C.read(fd, buf + n, buf_size - n)
		if got == 0 then
			break
		elseif got > 0 then
			n = n + got
		else
			e = ffi.errno()
			if e ~= EINTR then
				why = ffi.string(C.strerror(e))
				break
			end
		end
	end
	C.close(fd)
	if why then
		return nil, file .. ".pem: " .. why
	end
	return ffi.string(buf, n)
end

-- The key decoder: DER of any structure and key type, built on first use
-- and kept. It writes what it decodes to key_p, which it holds on to.
local key_p = ffi.new("void *[1]")
local decoder

-- groups[nid] = EC_GROUP *, one per curve, kept: a key's own is a copy of
-- it (about 1 µs), where building a curve's group costs about 10 µs.
local groups = {}

-- issuers[DER] = X509 *, one reference held here; each chain takes its own.
local issuers, n_issuers = {}, 0

-- why(): OpenSSL's reason for the last failure, and an empty error queue,
-- so that nginx does not report it again on some later connection.
local function why()
	local e = C.ERR_peek_last_error()
	C.ERR_clear_error()
	if e == 0 then
		return "not found"
	end
	C.ERR_error_string_n(e, errbuf, 256)
	return ffi.string(errbuf)
end

-- issuer(der, len): the shared X509 * of an issuer's DER, parsed on first
-- sight. Past ISSUERS_MAX the table starts afresh; chains keep theirs.
local function issuer(der, len)
	local bytes = ffi.string(der, len)
	local x = issuers[bytes]
	if x then
		return x
	end
	in_p[0] = der
	x = C.d2i_X509(nil, in_p, len)
	if x == nil then
		return nil
	end
	if n_issuers >= ISSUERS_MAX then
		for _, old in pairs(issuers) do
			C.X509_free(old)
		end
		issuers, n_issuers = {}, 0
	end
	issuers[bytes], n_issuers = x, n_issuers + 1
	return x
end

-- key_decode(der, len): a new EVP_PKEY *, or nil.
local function key_decode(der, len)
	if decoder == nil then
		decoder = C.OSSL_DECODER_CTX_new_for_pkey(key_p, "DER", nil, nil, EVP_PKEY_KEYPAIR, nil, nil)
		if decoder == nil then
			return nil
		end
	end
	key_p[0], in_p[0], size_p[0] = nil, der, len
	if C.OSSL_DECODER_from_data(decoder, in_p, size_p) ~= 1 or key_p[0] == nil then
		return nil
	end
	local key = key_p[0]
	key_p[0] = nil
	return key
end

-- ec_key(kind, der, len): a new EVP_PKEY * of an EC key in PKCS #8 (what
-- acmepipe writes) or SEC 1, parsed without a decoder; nil for any other
-- key. Such a key is a "legacy" one to OpenSSL 3.0, which X509_set_pubkey
-- encodes without an encoder chain.
local function ec_key(kind, der, len)
	local ec
	in_p[0] = der
	if kind == "EC PRIVATE KEY" then
		ec = C.d2i_ECPrivateKey(nil, in_p, len)
	elseif kind == "PRIVATE KEY" then
		local p8 = C.d2i_PKCS8_PRIV_KEY_INFO(nil, in_p, len)
		if p8 == nil then
			return nil
		end
		-- The algorithm, the key's bytes (an ECPrivateKey without its
		-- curve), and the algorithm's parameter: the curve's OID.
		if C.PKCS8_pkey_get0(ptr_p, in_p, int_p, ptr2_p, p8) == 1 and C.OBJ_obj2nid(ptr_p[0]) == NID_EC then
			local pk_len = int_p[0]
			C.X509_ALGOR_get0(nil, int_p, ptr_p, ptr2_p[0])
			if int_p[0] == V_ASN1_OBJECT then
				local nid = C.OBJ_obj2nid(ptr_p[0])
				local group = groups[nid]
				if group == nil then
					group = C.EC_GROUP_new_by_curve_name(nid)
					groups[nid] = group ~= nil and group or false
				end
				if group then
					ec = C.EC_KEY_new()
					if ec ~= nil and C.EC_KEY_set_group(ec, group) ~= 1 then
						C.EC_KEY_free(ec)
						ec = nil
					end
				end
			end
			if ec ~= nil then
				obj_p[0] = ec
				if C.d2i_ECPrivateKey(obj_p, in_p, pk_len) == nil then
					C.EC_KEY_free(ec) -- not freed by d2i when it was given
					ec = nil
				end
			end
		end
		C.PKCS8_PRIV_KEY_INFO_free(p8) -- cleanses the key's bytes
	end
	if ec == nil then
		return nil
	end
	local key = C.EVP_PKEY_new()
	if key == nil or C.EVP_PKEY_assign(key, NID_EC, ec) ~= 1 then
		C.EVP_PKEY_free(key)
		C.EC_KEY_free(ec)
		return nil
	end
	return key
end

-- The library context of leaf_ec: the null provider only, so that no
-- decoder is found for the public key. Made on first use; false if it
-- cannot be.
local bare

-- spki(x): the DER of the certificate x's SubjectPublicKeyInfo, or nil.
local function spki(x)
	out_p[0] = nil
	local n = C.i2d_X509_PUBKEY(C.X509_get_X509_PUBKEY(x), out_p)
	if n <= 0 then
		return nil
	end
	local der = ffi.string(out_p[0], n)
	C.CRYPTO_free(out_p[0], nil, 0)
	return der
end

-- leaf_ec(der, len, key): a new X509 * of the certificate der, with the EC
-- key as its public key, or nil when that key is not the certificate's.
local function leaf_ec(der, len, key)
	if bare == nil then
		bare = C.OSSL_LIB_CTX_new()
		if bare == nil or C.OSSL_PROVIDER_load(bare, "null") == nil then
			bare = false
		end
	end
	if not bare then
		return nil
	end
	obj_p[0] = C.X509_new_ex(bare, nil)
	if obj_p[0] == nil then
		return nil
	end
	in_p[0] = der
	local x = C.d2i_X509(obj_p, in_p, len)
	if x == nil then
		if obj_p[0] ~= nil then
			C.X509_free(obj_p[0])
		end
		return nil
	end
	-- The certificate keeps the encoding it was read from (d2i caches it),
	-- so the handshake sends the file's bytes; only its public key in
	-- memory becomes the private key's, so that must be the same key: its
	-- SubjectPublicKeyInfo, byte for byte. And the handshake's security
	-- check must be able to weigh the CA's signature: it looks the digest
	-- up in the certificate's library context, which finds an RSA one's
	-- there no more than a decoder (OpenSSL 3.0).
	local before, same = spki(x), false
	if before and C.X509_get_signature_info(x, nil, nil, nil, nil) == 1 and C.X509_set_pubkey(x, key) == 1 then
		same = spki(x) == before
	end
	if not same then
		C.X509_free(x)
		return nil
	end
	return x
end

-- leaf(der, len, key, ec): a new X509 * of the certificate der, or nil
-- and why.
local function leaf(der, len, key, ec)
	if ec then
		local x = leaf_ec(der, len, key)
		C.ERR_clear_error()
		if x ~= nil then
			return x
		end
	end
	in_p[0] = der
	local x = C.d2i_X509(nil, in_p, len)
	if x == nil then
		return nil, "no certificate: " .. why()
	end
	-- OpenSSL 3.0's SSL_use_PrivateKey takes a legacy key that is not the
	-- certificate's without a word, and the handshake then fails at the
	-- client: say it here, once, as ngx.ssl's parsed keys made it say.
	if key ~= nil and C.X509_check_private_key(x, key) ~= 1 then
		C.X509_free(x)
		C.ERR_clear_error()
		return nil, "private key does not match the certificate"
	end
	return x
end

-- entry_free(entry): gives back the OpenSSL memory of entry.
local function entry_free(entry)
	C.OPENSSL_sk_pop_free(entry.chain, x509_free)
	C.EVP_PKEY_free(entry.key)
	entry.chain, entry.key = nil, nil
end

-- parse(pem): chain (a new STACK_OF(X509) *: the first certificate, then
-- the others in file order) and key (a new EVP_PKEY *: the first private
-- key), or nil, nil and why. Both come from one read, so one version.
local function parse(pem)
	local bio = C.BIO_new_mem_buf(pem, #pem)
	if bio == nil then
		return nil, nil, "no certificate: " .. why()
	end
	local chain = C.OPENSSL_sk_new_null()
	local leaf_der, leaf_len, key, ec, cert_err, key_err
	while not cert_err and C.PEM_read_bio(bio, name_p, header_p, data_p, len_p) == 1 do
		local kind, der, len = ffi.string(name_p[0]), data_p[0], len_p[0]
		C.CRYPTO_free(name_p[0], nil, 0)
		C.CRYPTO_free(header_p[0], nil, 0)
		if kind:find("CERTIFICATE$") and not leaf_der then
			-- Parsed once the key is known.
			leaf_der, leaf_len, der = der, len, nil
		elseif kind:find("CERTIFICATE$") then
			local x = issuer(der, len)
			if x == nil then
				cert_err = "no certificate: " .. why()
			elseif chain == nil or C.OPENSSL_sk_push(chain, x) == 0 then
				cert_err = "no certificate: out of memory"
			else
				C.X509_up_ref(x)
			end
		elseif kind:find("PRIVATE KEY$") and not key and not key_err then
			key = ec_key(kind, der, len)
			ec = key ~= nil
			C.ERR_clear_error()
			key = key or key_decode(der, len)
			if key == nil then
				key_err = "no private key: " .. why()
			end
		end
		if der ~= nil then
			C.CRYPTO_clear_free(der, len, nil, 0) -- it may be a key's
		end
	end
	C.BIO_free(bio)
	-- The end of the data is an error to PEM_read_bio: not one to keep.
	C.ERR_clear_error()
	if leaf_der then
		if not cert_err then
			local x, leaf_err = leaf(leaf_der, leaf_len, key, ec)
			if x == nil then
				cert_err = leaf_err
			elseif C.OPENSSL_sk_unshift(chain, x) == 0 then
				C.X509_free(x)
				cert_err = "no certificate: out of memory"
			end
		end
		C.CRYPTO_free(leaf_der, nil, 0)
	elseif not cert_err then
		cert_err = "no certificate"
	end
	local err = cert_err or key_err or (not key and "no private key")
	if err then
		entry_free({ chain = chain, key = key })
		return nil, nil, err
	end
	return chain, key
end

-- The cache of parsed certificates: entries in a list, most recently used
-- first, and an index by name. Not resty.lrucache: it drops an evicted
-- entry without a word, and a finalizer would free its OpenSSL memory only
-- when LuaJIT's collector, which does not see that memory, gets to it.
-- Here an entry is freed as it leaves, so the worker's memory is bounded
-- by cache_size. Each name owns its entry (a wildcard's file is parsed
-- once per name below it), so freeing one never frees another's.
local index, count, lru = {}, 0, {}

local function lru_reset()
	index, count = {}, 0
	lru.next, lru.prev = lru, lru -- lru is the list's head and tail
end

local function unlink(entry)
	entry.prev.next, entry.next.prev = entry.next, entry.prev
end

local function push_front(entry)
	entry.prev, entry.next = lru, lru.next
	lru.next.prev, lru.next = entry, entry
end

-- cache_get(name): the entry while fresh; else nil and the stale entry,
-- still cached, for the caller to renew, replace or drop.
local function cache_get(name)
	local entry = index[name]
	if not entry then
		return nil
	end
	unlink(entry)
	push_front(entry)
	if entry.expires < ngx.now() then
		return nil, entry
	end
	return entry
end

local function cache_drop(entry)
	if index[entry.name] == entry then
		index[entry.name] = nil
		unlink(entry)
		count = count - 1
		entry_free(entry)
	end
end

-- cache_put(entry): cached under its name, in place of an older entry;
-- the least recently used one leaves when the cache is full.
local function cache_put(entry)
	local old = index[entry.name]
	if old then
		cache_drop(old)
	elseif count >= conf.cache_size then
		cache_drop(lru.prev)
	end
	entry.expires = ngx.now() + conf.fresh
	index[entry.name], count = entry, count + 1
	push_front(entry)
end

-- load(name, file, pem): a new entry for name from the bytes of file, or
-- nil and why.
local function load(name, file, pem)
	local chain, key, err = parse(pem)
	if not chain then
		return nil, file .. ".pem: " .. err
	end
	return { name = name, file = file, sum = ngx.sha1_bin(pem), chain = chain, key = key }
end

-- find(name, candidates): the entry for name, from the cache while fresh,
-- else from the first candidate file that exists. nil, nil when none
-- exists; nil, why when one exists and cannot be used.
local function find(name, candidates)
	local entry, stale = cache_get(name)
	if entry then
		return entry
	end
	for _, file in ipairs(candidates) do
		local pem, err = read(file)
		if pem then
			-- Unchanged since it was parsed: keep the parsed objects.
			if stale and stale.file == file and stale.sum == ngx.sha1_bin(pem) then
				stale.expires = ngx.now() + conf.fresh
				return stale
			end
			entry, err = load(name, file, pem)
			if entry then
				cache_put(entry)
				return entry
			end
		end
		if err then
			if stale then
				cache_drop(stale)
			end
			return nil, err
		end
	end
	if stale then
		cache_drop(stale)
	end
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
		cache_drop(entry)
		ngx.log(ngx.ERR, "acmepipe: ", entry.file, ".pem: ", err)
		return ngx.exit(ngx.ERROR)
	end
end

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
	lru_reset()
	unknown = assert(lrucache.new(conf.unknown_size))
end

-- certificate(): in ssl_certificate_by_lua_block. Sets the chain and key,
-- or fails the handshake with one log line.
function _M.certificate()
	if not unknown then
		_M.init({})
	end
	local name, err = ssl.server_name()
	local sni = name ~= nil
	if sni then
		name = name:lower()
		-- The common case first: only valid names are ever cached.
		local entry = cache_get(name)
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
