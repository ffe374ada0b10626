use super::*;
use crate::probe::fixture;

fn member(key: &str, role: &str) -> MdDetailMember {
    MdDetailMember {
        key: key.into(),
        device: Some(format!("/dev/{}", key.trim_start_matches("dev_"))),
        role: Some(role.into()),
    }
}

#[test]
fn detail_export_cases() {
    let raid6 = MdDetail {
        level: Some("raid6".into()),
        devices: Some(5),
        metadata: Some("1.2".into()),
        uuid: Some("3a4d8e1f:2c5b6a7d:8e9f0a1b:2c3d4e5f".into()),
        devname: Some("tank".into()),
        name: Some("helios64:tank".into()),
        members: vec![],
    };
    let cases: Vec<(&str, MdDetail)> = vec![
        (
            "detail-raid6-clean",
            MdDetail {
                members: vec![
                    member("dev_sde1", "4"),
                    member("dev_sdd1", "3"),
                    member("dev_sdc1", "2"),
                    member("dev_sdb1", "1"),
                    member("dev_sda1", "0"),
                ],
                ..raid6.clone()
            },
        ),
        (
            "detail-raid6-degraded",
            MdDetail {
                members: vec![
                    member("dev_sde1", "4"),
                    member("dev_sdd1", "3"),
                    member("dev_sdb1", "1"),
                    member("dev_sda1", "0"),
                ],
                ..raid6.clone()
            },
        ),
        (
            "detail-raid1-recovering",
            MdDetail {
                level: Some("raid1".into()),
                devices: Some(2),
                metadata: Some("1.0".into()),
                uuid: Some("9e8d7c6b:5a493827:16051423:3f2e1d0c".into()),
                devname: Some("boot".into()),
                name: Some("helios64:boot".into()),
                members: vec![member("dev_sdb2", "1"), member("dev_sda2", "0")],
            },
        ),
        (
            // udev's incremental assembly (mdadm 4.2 Detail.c): raid_disks is
            // 0 until the array runs, so no MD_LEVEL and MD_DEVICES counts
            // the members present; every slot is `none`, printed as spare.
            "detail-raid6-inactive-udev",
            MdDetail {
                level: None,
                devices: Some(4),
                uuid: Some("e83d8db9:3271ad50:2c22ba9e:4f647fa2".into()),
                name: Some("any:tank".into()),
                members: vec![
                    member("dev_sde1", "spare"),
                    member("dev_sdd1", "spare"),
                    member("dev_sdb1", "spare"),
                    member("dev_sda1", "spare"),
                ],
                ..raid6.clone()
            },
        ),
        (
            "detail-inactive",
            MdDetail {
                level: None,
                devices: Some(2),
                devname: None,
                members: vec![member("dev_sdb1", "spare"), member("dev_sda1", "spare")],
                ..raid6.clone()
            },
        ),
    ];
    for (case, want) in cases {
        let got = parse_detail_export(&fixture(&format!("mdadm/{case}-handwritten.txt"))).unwrap();
        assert_eq!(got, want, "{case}");
        assert_eq!(
            got.short_name().as_deref(),
            Some(if case.contains("raid1") {
                "boot"
            } else {
                "tank"
            }),
            "{case}"
        );
    }
}

#[test]
fn short_name_without_md_name() {
    let d = MdDetail {
        devname: Some("data".into()),
        ..MdDetail::default()
    };
    assert_eq!(d.short_name().as_deref(), Some("data"));
    let d = MdDetail {
        name: Some("nohost".into()),
        ..MdDetail::default()
    };
    assert_eq!(d.short_name().as_deref(), Some("nohost"));
    assert_eq!(MdDetail::default().short_name(), None);
}

fn m(name: &str, index: u32, flags: &str) -> MdstatMember {
    MdstatMember {
        name: name.into(),
        index,
        flags: flags.into(),
    }
}

fn five(sdc_flags: Option<&str>) -> Vec<MdstatMember> {
    let mut v = vec![m("sde1", 4, ""), m("sdd1", 3, "")];
    if let Some(f) = sdc_flags {
        v.push(m("sdc1", 2, f));
    }
    v.extend([m("sdb1", 1, ""), m("sda1", 0, "")]);
    v
}

#[test]
fn mdstat_cases() {
    let raid6 = MdstatEntry {
        name: "md127".into(),
        active: true,
        read_only: None,
        level: Some("raid6".into()),
        members: five(Some("")),
        blocks: Some(3142656),
        slots: Some((5, 5)),
        sync: None,
    };
    let cases: Vec<(&str, Vec<MdstatEntry>, Vec<MdState>)> = vec![
        ("clean", vec![raid6.clone()], vec![MdState::Clean]),
        (
            "degraded",
            vec![MdstatEntry {
                members: five(None),
                slots: Some((5, 4)),
                ..raid6.clone()
            }],
            vec![MdState::Degraded { missing: 1 }],
        ),
        (
            "resync",
            vec![MdstatEntry {
                sync: Some(MdSync {
                    action: "resync".into(),
                    percent: Some(12.6),
                    waiting: None,
                }),
                ..raid6.clone()
            }],
            vec![MdState::Resyncing { percent: 12.6 }],
        ),
        (
            "recovery",
            vec![MdstatEntry {
                name: "md126".into(),
                level: Some("raid1".into()),
                members: vec![m("sdb2", 2, ""), m("sda2", 0, "")],
                blocks: Some(261056),
                slots: Some((2, 1)),
                sync: Some(MdSync {
                    action: "recovery".into(),
                    percent: Some(27.5),
                    waiting: None,
                }),
                ..raid6.clone()
            }],
            vec![MdState::Recovering { percent: 27.5 }],
        ),
        (
            "inactive",
            vec![MdstatEntry {
                active: false,
                level: None,
                members: vec![m("sdb1", 1, "S"), m("sda1", 0, "S")],
                blocks: Some(2095104),
                slots: None,
                ..raid6.clone()
            }],
            vec![MdState::Inactive],
        ),
        (
            "inactive-udev",
            vec![MdstatEntry {
                active: false,
                level: None,
                members: vec![
                    m("sde1", 4, "S"),
                    m("sdd1", 3, "S"),
                    m("sdb1", 1, "S"),
                    m("sda1", 0, "S"),
                ],
                blocks: Some(16760832),
                slots: None,
                ..raid6.clone()
            }],
            vec![MdState::Inactive],
        ),
    ];
    for (case, want, states) in cases {
        let got = parse_mdstat(&fixture(&format!("mdstat/{case}-handwritten.txt"))).unwrap();
        assert_eq!(got, want, "{case}");
        let got_states: Vec<MdState> = got.iter().map(|e| md_state(e, Some("clean\n"))).collect();
        assert_eq!(got_states, states, "{case}");
    }
}

#[test]
fn mdstat_mixed() {
    let got = parse_mdstat(&fixture("mdstat/mixed-handwritten.txt")).unwrap();
    let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["md125", "md126", "md127", "md0"]);
    assert_eq!(
        got[0].sync,
        Some(MdSync {
            action: "resync".into(),
            percent: None,
            waiting: Some("DELAYED".into())
        })
    );
    assert_eq!(got[1].read_only.as_deref(), Some("auto-read-only"));
    assert_eq!(got[1].level.as_deref(), Some("raid1"));
    assert_eq!(got[2].members[2], m("sdc1", 2, "F"));
    assert_eq!(got[2].members[2].state(), "faulty");
    assert_eq!(
        got[3].sync,
        Some(MdSync {
            action: "check".into(),
            percent: Some(8.0),
            waiting: None
        })
    );
    let states: Vec<MdState> = got.iter().map(|e| md_state(e, None)).collect();
    assert_eq!(
        states,
        [
            MdState::Other("resync=DELAYED".into()),
            MdState::Active,
            MdState::Degraded { missing: 1 },
            MdState::Other("check 8%".into())
        ]
    );
}

#[test]
fn member_flags() {
    let cases = [
        ("", "active"),
        ("F", "faulty"),
        ("S", "spare"),
        ("W", "write-mostly"),
        ("R", "replacement"),
        ("J", "journal"),
    ];
    for (flags, state) in cases {
        assert_eq!(m("sda1", 0, flags).state(), state);
    }
    let got = parse_mdstat("md1 : active raid1 sdb1[2](W)(R) sda1[0]\n").unwrap();
    assert_eq!(got[0].members[0], m("sdb1", 2, "WR"));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let detail = [
        (
            "MD_DEVICES=five\n",
            "malformed mdadm --detail --export output at line 1: MD_DEVICES \"five\" is not a number",
        ),
        (
            "MD_LEVEL=raid1\nroot\n",
            "malformed mdadm --detail --export output at line 2: expected KEY=VALUE, got \"root\"",
        ),
    ];
    for (text, want) in detail {
        assert_eq!(
            parse_detail_export(text).unwrap_err().to_string(),
            want,
            "{text:?}"
        );
    }
    let mdstat = [
        (
            "      1024 blocks\n",
            "malformed /proc/mdstat output at line 1: detail line before any array",
        ),
        (
            "md0 active raid1\n",
            "malformed /proc/mdstat output at line 1: expected \"mdN : …\", got \"md0 active raid1\"",
        ),
        (
            "md0 : running raid1\n",
            "malformed /proc/mdstat output at line 1: expected active or inactive, got \"running\"",
        ),
        (
            "md0 : \n",
            "malformed /proc/mdstat output at line 1: expected active or inactive, got nothing",
        ),
        (
            "md0 : active raid1 sda1[0\n",
            "malformed /proc/mdstat output at line 1: unclosed bracket in \"sda1[0\"",
        ),
        (
            "md0 : active raid1 sda1[x]\n",
            "malformed /proc/mdstat output at line 1: bad member index in \"sda1[x]\"",
        ),
        (
            "md0 : active raid1 sda1[0] stray\n",
            "malformed /proc/mdstat output at line 1: unexpected word \"stray\"",
        ),
        (
            "md0 : active raid1\n      lots blocks\n",
            "malformed /proc/mdstat output at line 2: bad block count \"lots\"",
        ),
        (
            "md0 : active raid1\n      1 blocks [2/x] [U_]\n",
            "malformed /proc/mdstat output at line 2: bad slot count \"[2/x]\"",
        ),
        (
            "md0 : active raid1\n      [>..]  resync = abc%\n",
            "malformed /proc/mdstat output at line 2: bad resync percentage \"abc%\"",
        ),
    ];
    for (text, want) in mdstat {
        assert_eq!(
            parse_mdstat(text).unwrap_err().to_string(),
            want,
            "{text:?}"
        );
    }
}
