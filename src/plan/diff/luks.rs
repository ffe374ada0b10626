//! LUKS rules: a container is kept when the (kept) device holds a LUKS
//! header, and its mapping when it is open under the planned name.

use super::State;
use super::lookup::{show_sig, signature};
use crate::plan::Change;

/// `cryptsetup luksFormat` of `device` for mapping `name`.
pub(super) fn format(s: &State, device: &str, name: &str) -> (Change, Option<String>) {
    if s.created.contains(device) || !s.kept(device) {
        return (Change::Create, None);
    }
    match signature(s.obs, device) {
        None => (Change::Create, None),
        Some(sig) if sig.fstype == "crypto_LUKS" => (Change::Keep, None),
        Some(sig) => (
            Change::Destroy,
            Some(format!(
                "{device} holds {} where LUKS `{name}` is planned",
                show_sig(sig)
            )),
        ),
    }
}

/// `cryptsetup open` as `name`: kept when it is open under that name.
pub(super) fn open(s: &State, name: &str) -> Change {
    if s.obs
        .luks
        .iter()
        .any(|l| l.open_as.as_deref() == Some(name))
    {
        Change::Keep
    } else {
        Change::Create
    }
}
