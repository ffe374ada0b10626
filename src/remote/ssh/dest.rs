//! `USER@HOST[:PORT]` as typed on the command line, taken apart before ssh sees it: the host
//! is written into our ssh config (`Match originalhost`) and the pin hint, so it must be a
//! plain name or address, never something ssh could read as an option or a pattern.

use std::fmt;

/// Where to connect: what ssh gets as `-l`, the destination and `-p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The login name, if given; else ssh's config (`User`) or the local user decides.
    pub user: Option<String>,
    /// A host name, an alias from ssh's config, or an address (IPv6 without brackets).
    pub host: String,
    /// The port, if given; else ssh's config (`Port`) or 22.
    pub port: Option<u16>,
}

impl Destination {
    /// Parse `HOST`, `USER@HOST`, `HOST:PORT`, `[V6ADDR]:PORT` and `USER@[V6ADDR]`; a bare IPv6
    /// address (two or more colons, no brackets) is a host without a port.
    pub fn parse(s: &str) -> Result<Destination, String> {
        let bad = |why: &str| Err(format!("destination {s:?}: {why}"));
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, s),
        };
        if let Some(u) = user {
            if u.is_empty() {
                return bad("the user before '@' is empty");
            }
            // A user is sent to the server and written into our config: keep it to a
            // portable login name.
            if u.starts_with('-')
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-$".contains(c))
            {
                return bad("the user may hold only letters, digits and . _ - $");
            }
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let Some((h, after)) = inner.split_once(']') else {
                return bad("'[' without a closing ']'");
            };
            if !h.contains(':') {
                return bad("brackets are for IPv6 addresses");
            }
            match after {
                "" => (h, None),
                p if p.starts_with(':') => (h, Some(&p[1..])),
                _ => return bad("expected ':PORT' after ']'"),
            }
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').expect("one colon");
            (h, Some(p))
        } else {
            (rest, None)
        };
        if host.is_empty() {
            return bad("no host");
        }
        if host.starts_with('-') {
            return bad("a host cannot start with '-'");
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
        {
            return bad("the host may hold only letters, digits and . - _ (and : in IPv6)");
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
                _ => return bad("the port must be a number from 1 to 65535"),
            },
        };
        Ok(Destination {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        })
    }

    /// The host as known_hosts names it: `host`, or `[host]:port` off port 22. ssh's own
    /// name (from `%H`, after `HostName` and `HostKeyAlias`) is better when there is one.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            None | Some(22) => self.host.clone(),
            Some(p) => format!("[{}]:{p}", self.host),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        match (self.port, self.host.contains(':')) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.host),
            (Some(p), false) => write!(f, "{}:{p}", self.host),
            (None, _) => write!(f, "{}", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(user: Option<&str>, host: &str, port: Option<u16>) -> Destination {
        Destination {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("nas", d(None, "nas", None)),
            ("root@nas", d(Some("root"), "nas", None)),
            ("root@nas.lan:2222", d(Some("root"), "nas.lan", Some(2222))),
            ("192.168.1.5:22", d(None, "192.168.1.5", Some(22))),
            ("[fe80::1]:2222", d(None, "fe80::1", Some(2222))),
            ("root@[::1]", d(Some("root"), "::1", None)),
            ("fe80::1", d(None, "fe80::1", None)),
        ];
        for (s, want) in cases {
            assert_eq!(Destination::parse(s).as_ref(), Ok(&want), "{s}");
            assert_eq!(
                want.to_string(),
                s.replace("[::1]", "::1"),
                "{s} round trip"
            );
        }
    }

    #[test]
    fn junk_is_refused_with_the_reason() {
        let cases = [
            ("", "no host"),
            ("root@", "no host"),
            ("@nas", "the user before '@' is empty"),
            ("-oProxyCommand=x", "a host cannot start with '-'"),
            ("-l@nas", "the user may hold only"),
            ("nas:0", "the port must be a number from 1 to 65535"),
            ("nas:65536", "the port must be a number from 1 to 65535"),
            ("nas:+22", "the port must be a number from 1 to 65535"),
            ("nas:", "the port must be a number from 1 to 65535"),
            ("[::1", "'[' without a closing ']'"),
            ("[nas]:22", "brackets are for IPv6 addresses"),
            ("[::1]x", "expected ':PORT' after ']'"),
            ("nas box", "the host may hold only"),
            ("n*s", "the host may hold only"),
        ];
        for (s, why) in cases {
            let e = Destination::parse(s).unwrap_err();
            assert!(
                e.starts_with(&format!("destination {s:?}: {why}")),
                "{s}: {e}"
            );
        }
    }

    #[test]
    fn known_hosts_names_follow_ssh() {
        assert_eq!(d(None, "nas", None).known_hosts_name(), "nas");
        assert_eq!(d(None, "nas", Some(22)).known_hosts_name(), "nas");
        assert_eq!(d(None, "::1", Some(2222)).known_hosts_name(), "[::1]:2222");
    }
}
