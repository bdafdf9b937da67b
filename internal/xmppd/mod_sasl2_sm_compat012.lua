-- mod_sasl2_sm_compat012: makes prosody-modules' mod_sasl2_sm (Debian prosody-modules hg
-- 556bf57d6417, 2023-02-23, written against Prosody trunk) work on Prosody 0.12.3, i.e. inline
-- XEP-0198 in SASL2/Bind 2: <enable/> inside <authenticate><bind/>, <resume/> inside <authenticate>.
-- mod_sasl2_sm calls mod_smacks.do_enable(session, stanza) and mod_smacks.do_resume(session,
-- stanza), which trunk has and 0.12 lacks (mod_sasl2_sm.lua:66 / :37 "attempt to call a nil value",
-- and the client never gets <success/>). Trunk's contract: return { type = "enabled"|"resumed",
-- id, resume_max, session, finish } or nil, err (util.error-like); nothing may be written before
-- mod_sasl2 sends <success/>, and finish() (called right after it) sends what follows.
-- 0.12's mod_smacks has the same logic as the globals handle_enable/handle_resume, which write
-- their answers with session.send. So, from outside mod_smacks (module:depends("smacks") returns
-- its environment, where mod_sasl2_sm looks do_* up at call time), do_enable/do_resume:
--   * swap session.send for a collector, call the unchanged 0.12 handler, restore the real send;
--   * for a resume, 0.12 has already moved the new connection onto the old session and copied the
--     (collector) send into it: put the real send back there and rebind that closure's `session`
--     upvalue (Prosody's function metatable makes f.session = x set an upvalue);
--   * copy sasl_handler, fast_token_request and client_id from the new session to the resumed one:
--     mod_sasl2_fast's success hook then sees this authentication's values, not the ones left over
--     from the session's first login (which would mint a new FAST token on every resume, or crash
--     on the cleared sasl_handler);
--   * finish() replays what the handler "sent" after <success/> (unacked stanzas with their
--     <delay/> and <r/>), except the top-level <resumed/>: mod_sasl2_sm puts its own in <success/>;
--   * check previd/h before migrating anything, like trunk: 0.12 would move the connection first
--     and then close it on a bad h, so the client would get no <success/> at all.
-- mod_sasl2_sm's <failed/> path needs stanza:add_error(), which 0.12 lacks: mod_sasl2_compat012
-- (a dependency) provides it.

local st = require "util.stanza";
local jid = require "util.jid";

module:depends("sasl2_compat012"); -- stanza:add_error() and the rest of the SASL2 shims
local smacks = module:depends("smacks");
local session_registry = module:shared("/*/smacks/resumption-tokens"); -- mod_smacks' own table

-- rawget: a module environment warns about (and logs a traceback for) reading unset globals.
if not (rawget(smacks, "handle_enable") and rawget(smacks, "handle_resume")) then
	module:log("warn", "mod_smacks has no handle_enable/handle_resume: not Prosody 0.12? Not shimming");
	return;
end
if rawget(smacks, "do_enable") and not rawget(smacks, "compat012_sm") then
	module:log("info", "mod_smacks already has do_enable/do_resume: nothing to shim");
	return;
end

-- Runs fn(...) with session.send replaced by a collector; returns fn's result and what was sent.
-- The collector must not have upvalues named `session` or `filter`: 0.12's handle_resume copies
-- it into the resumed session and assigns those upvalues.
local function collecting(session, fn, ...)
	local sent = {};
	local real_send = session.send;
	local function collector(t)
		sent[#sent + 1] = t;
		return true;
	end
	session.send = collector;
	local ok, ret = pcall(fn, ...);
	if session.send == collector then
		session.send = real_send;
	end
	return ok, ret, sent, real_send, collector;
end

local function is(t, name) return st.is_stanza(t) and t.name == name end

-- The error for mod_sasl2_sm from a collected <failed/> (0.12 puts the condition directly inside).
local function failed_error(sent, fallback_condition)
	for _, t in ipairs(sent) do
		if is(t, "failed") then
			local cond = t.tags[1];
			return {
				type = "cancel";
				condition = cond and cond.name or fallback_condition;
				context = { h = tonumber(t.attr.h) };
			};
		end
	end
	return { type = "cancel"; condition = fallback_condition; text = "Stream management request not answered" };
end

local function do_enable(session, stanza)
	local ok, ret, sent = collecting(session, smacks.handle_enable, session, stanza, stanza.attr.xmlns);
	if not ok then error(ret, 0); end
	local enabled = sent[1];
	if #sent ~= 1 or not is(enabled, "enabled") then
		return nil, failed_error(sent, "undefined-condition");
	end
	-- 0.12 has already enabled SM on the session (queue, filters, resumption token). That is safe
	-- this early: <success/> and <stream:features/> are nonzas, which the queue does not count.
	return {
		type = "enabled";
		id = enabled.attr.id;
		resume_max = enabled.attr.max;
		session = session;
		finish = function ()
			session.sasl2_sm_success = nil;
		end;
	};
end

local function do_resume(session, stanza)
	local xmlns_sm, key = stanza.attr.xmlns, jid.join(session.username, session.host, stanza.attr.previd);
	local original = session_registry[key];
	-- Checks 0.12 makes only after moving the connection onto the old session.
	if not session.full_jid then
		if original and not original.destroyed and original.outgoing_stanza_queue then
			local queue, h = original.outgoing_stanza_queue, tonumber(stanza.attr.h);
			local acked, total = queue:count_acked(), queue:count_acked() + queue:count_unacked();
			local err;
			if not h or h ~= math.floor(h) then
				err = "Missing or invalid 'h' attribute";
			elseif h < acked then
				err = "Client acknowledged less stanzas than already acknowledged";
			elseif h > total then
				err = "Client acknowledged more stanzas than sent by server";
			elseif queue._queue:count() < total - h then
				return nil, { type = "wait"; condition = "resource-constraint";
					text = "Too many unacked stanzas remaining, session can't be resumed" };
			end
			if err then
				return nil, { type = "modify"; condition = "undefined-condition"; text = err };
			end
		elseif original then -- stale entry
			session_registry[key] = nil;
			return nil, { type = "cancel"; condition = "item-not-found" };
		end
	end

	local ok, ret, sent, real_send, collector = collecting(session, smacks.handle_resume, session, stanza, xmlns_sm);
	local resumed = original and original.send == collector; -- 0.12 copied session.send into it
	if resumed then
		original.send = real_send;
		real_send.session = original; -- the closure's upvalue: log and rawsend of the resumed session
		real_send.filter = original.filter;
	end
	if not ok then error(ret, 0); end
	if not resumed or ret == false then
		return nil, failed_error(sent, "item-not-found");
	end

	-- This authentication's SASL state, for the sasl2/c2s/success hooks that run on the resumed
	-- session (mod_sasl2_fast: token minting and rotation; mod_sasl2 clears sasl_handler after).
	original.sasl_handler = session.sasl_handler;
	original.fast_token_request = session.fast_token_request;
	original.client_id = session.client_id;

	return {
		type = "resumed";
		id = stanza.attr.previd;
		session = original;
		finish = function ()
			original.sasl2_sm_success = nil;
			original.resending_unacked = true; -- already queued: do not count them again
			for _, t in ipairs(sent) do
				if not (is(t, "resumed") and t.attr.xmlns == xmlns_sm) then
					original.send(t);
				end
			end
			original.resending_unacked = nil;
		end;
	};
end

smacks.do_enable, smacks.do_resume, smacks.compat012_sm = do_enable, do_resume, true;

function module.unload()
	if rawget(smacks, "do_enable") == do_enable then
		smacks.do_enable, smacks.do_resume, smacks.compat012_sm = nil, nil, nil;
	end
end
