//! `plan::script::quote` through a real POSIX shell: words with newlines,
//! escape sequences and invisible characters come out of sh exactly as they
//! went in, as one word, though none of them is written raw in the script.

use nasstrap::plan::script::quote;
use std::process::Command;

#[test]
fn quoted_words_survive_sh() {
    let words = [
        "/dev/sda\nrm -rf /",
        "a\n\n",
        "\u{1b}[2J",
        "x\u{202e}\u{1b}y'z",
        "tab\there",
        "%d\\n",
        "données",
        "",
    ];
    for w in words {
        let q = quote(w);
        assert!(!q.contains(['\n', '\u{1b}', '\u{202e}', '\t']), "{q}");
        // The script's own definition of `nl`, then the word as one argument.
        let script = format!("nl='\n'\nset -- {q}\nprintf '%s|%s' \"$#\" \"$1\"");
        let out = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("1|{w}"),
            "{script}"
        );
    }
}
