// Package script runs policy callbacks written in Starlark (go.starlark.net).
//
// A script is a Starlark file whose top-level functions are callbacks. [Load] compiles it
// and runs its top level once, under a step limit, to define those functions; the
// resulting [Program] implements policy.Callbacks and is shared by every session that uses
// the policy.
//
// # Callbacks
//
// A command callback is called as
//
//	f(command, param, session)
//
// with the upper-case verb, its parameter ("" when there is none) and the session. An
// answer callback is called as
//
//	f(command, answer_code, answer_text, session)
//
// with the verb the answer replies to ("Null" for the greeting), the answer's code (an
// int) and its text. session is a frozen struct with the fields id (int), client and
// server (addresses as strings, "198.51.100.2"), client_port and server_port (ints), user
// (the user name sent with USER, "" before it) and tls (a bool: the control channel is
// protected).
//
// A callback must return one of these verdicts; anything else is an error:
//
//	ACCEPT, accept()    pass the command or answer on unchanged
//	accept(param)       pass the command on with param as its new parameter (commands only)
//	reject(code, text)  refuse a command with this reply; both optional, the engine then
//	                    picks its default (such as 500 or 550). code is 200..599 (a 1xx
//	                    reply would leave the client waiting for a final one). For an
//	                    answer, reject denies it: the client gets "500 Error parsing answer"
//	change(code, text)  replace an answer with this code (100..599) and text (answers only)
//	ABORT, abort()      close both sides of the session
//
// Texts and parameters may not contain CR, LF or NUL and are at most 1024 bytes long.
//
// Example:
//
//	def stor(command, param, session):
//	    if param.lower().endswith(".exe"):
//	        return reject(553, "Executables are not accepted here.")
//	    return ACCEPT
//
//	def cwd(command, param, session):
//	    if param.startswith("/private"):
//	        return accept("/public" + param[len("/private"):])
//	    return ACCEPT
//
//	def greeting(command, answer_code, answer_text, session):
//	    return change(220, "Welcome to ftp.example.org, " + session.client + ".")
//
// A Program also makes hooks of its functions, each described where it is made: a transfer
// callback ([Program.TransferHook]) judges a whole transferred object, a chunk callback
// ([Program.ChunkHook]) each chunk of a transfer's data as it passes through ftpgate, and a
// packet callback ([Program.PacketHook]) each packet of a data channel the kernel forwards
// under a packet filter (package pktfilter). DROP, predeclared in every script, is a packet
// callback's verdict (the packet is dropped); the other callbacks refuse it.
//
// # Sandbox
//
// A script sees only the Starlark universe (None, True, len, str, sorted, …), the verdicts
// above and print, whose output goes to the configured logger with the callback's name.
// It can read no files, open no sockets and load no modules: load() statements fail. The
// dialect allows while loops, recursion, sets and if/for at the top level.
//
// Every call runs on a fresh thread with a limit on execution steps (Options.MaxSteps,
// default 100000) and is cancelled when its context is done; a runaway callback returns an
// error. Panics inside the interpreter are recovered into errors.
//
// Callbacks cannot keep state between calls: the script's globals are frozen once its top
// level has run, so a callback that tries to change a global list or dict fails. This is
// what makes a Program safe for concurrent use by many sessions; lookup tables built at the
// top level are fine, since they are only read.
package script
