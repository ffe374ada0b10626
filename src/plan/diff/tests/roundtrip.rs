//! Diffed plans read back from JSON as they were: the laptop diffs, the
//! target applies what it receives, so reasons, `keep`s and read-only
//! assembly must survive the trip.

use super::NAS;
use super::kit::*;
use crate::plan::{Action, KeySource, Options, Plan, diff::against, updown};

#[track_caller]
fn round_trips(p: &Plan) {
    let json = serde_json::to_string(p).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, p, "{json}");
}

#[test]
fn diffed_plans_round_trip() {
    let l = layout(NAS);
    let mut obs = installed(&l, &blank(&["sda", "sdb", "sdc"], 4 * GIB));
    taken_down(&mut obs);
    let (plan, refusals) = against(&l, &obs, &Options::default()).unwrap();
    assert!(refusals.is_empty(), "{refusals:?}");
    assert!(plan.steps.iter().any(|s| s.reason.is_some()));
    round_trips(&plan);

    // Read-only assembly is the one field left out of the JSON when false.
    let mut up = plan.clone();
    for s in &mut up.steps {
        updown::make_read_only(&mut s.action);
    }
    assert!(up.steps.iter().any(|s| matches!(
        s.action,
        Action::MdAssemble {
            read_only: true,
            ..
        }
    )));
    round_trips(&up);
    round_trips(&updown::take_down(&plan, &obs));
}

#[test]
fn asked_keys_round_trip() {
    // `{"from": "ask"}` has no content: the adjacently tagged enum must accept that.
    let l = layout(
        "
disk:
  a: { device: /dev/sda, content: { type: gpt, partitions: { c: { size: 100%, content: { type: luks, name: c, askPassword: true, content: { type: swap } } } } } }
",
    );
    let (plan, _) = against(&l, &blank(&["sda"], 4 * GIB), &Options::default()).unwrap();
    assert!(plan.steps.iter().any(|s| matches!(
        &s.action,
        Action::LuksFormat {
            key: KeySource::Ask,
            ..
        }
    )));
    round_trips(&plan);
}
