//! Labels: GPT partition names and the filesystem, swap and LUKS2 labels,
//! each as long as the tool that writes it keeps.

use super::{NameError, char_name, fail, invisible, shown};
use sha2::{Digest, Sha256};

/// A GPT partition name: 72 bytes of UTF-16.
pub const GPT_NAME_UNITS: usize = 36;

/// A GPT partition name written in the layout: at most 36 UTF-16 units.
pub fn gpt_name(label: &str) -> Result<String, NameError> {
    if label.encode_utf16().count() > GPT_NAME_UNITS {
        return fail(
            format!(
                "GPT partition names hold {GPT_NAME_UNITS} UTF-16 units; `{}` is longer",
                shown(label)
            ),
            "shorten it",
        );
    }
    if let Some(c) = label.chars().find(|c| invisible(*c)) {
        return fail(
            format!(
                "GPT partition name `{}` contains {}",
                shown(label),
                char_name(c)
            ),
            "use printable characters",
        );
    }
    Ok(label.to_string())
}

/// disko's default GPT name, `<parent type>-<parent>-<partition>`; past 36
/// bytes it becomes the first 36 hex digits of its SHA-256, exactly as disko's
/// `lib/types/gpt.nix` does (`stringLength` counts bytes).
pub fn default_gpt_name(parent_type: &str, parent: &str, partition: &str) -> String {
    let label = format!("{parent_type}-{parent}-{partition}");
    if label.len() <= GPT_NAME_UNITS {
        return label;
    }
    let hex: String = Sha256::digest(label.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..GPT_NAME_UNITS].to_string()
}

/// Tools that write a label, with the most bytes each keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelTool {
    /// mke2fs: `s_volume_name[16]`; longer labels are cut with a warning.
    Ext,
    /// mkfs.xfs: 12 bytes; longer labels fail.
    Xfs,
    /// mkfs.btrfs: `BTRFS_LABEL_SIZE` 256 with the NUL; longer labels fail.
    Btrfs,
    /// mkfs.fat: the 11-byte volume label; longer labels fail.
    Vfat,
    /// mkswap: 16 bytes with the NUL (util-linux 2.38 cuts at 15).
    Swap,
    /// cryptsetup LUKS2: 48 bytes with the NUL; longer labels are cut silently.
    Luks2,
    /// mkfs.f2fs (`-l`): 512 bytes; longer labels fail.
    F2fs,
}

impl LabelTool {
    /// The most bytes a label may have.
    pub fn max(self) -> usize {
        match self {
            LabelTool::Ext => 16,
            LabelTool::Xfs => 12,
            LabelTool::Btrfs => 255,
            LabelTool::Vfat => 11,
            LabelTool::Swap => 15,
            LabelTool::Luks2 => 47,
            LabelTool::F2fs => 512,
        }
    }

    /// The tool's name in messages.
    pub fn tool(self) -> &'static str {
        match self {
            LabelTool::Ext => "mke2fs",
            LabelTool::Xfs => "mkfs.xfs",
            LabelTool::Btrfs => "mkfs.btrfs",
            LabelTool::Vfat => "mkfs.vfat",
            LabelTool::Swap => "mkswap",
            LabelTool::Luks2 => "cryptsetup (LUKS2)",
            LabelTool::F2fs => "mkfs.f2fs",
        }
    }
}

/// A filesystem, swap or LUKS2 label: at most as many bytes as its tool
/// keeps, so apply never fails (or silently cuts the label) after the wipes.
pub fn label(tool: LabelTool, label: &str) -> Result<String, NameError> {
    if label.len() > tool.max() {
        return fail(
            format!(
                "label `{}` is {} bytes; {} keeps at most {}",
                shown(label),
                label.len(),
                tool.tool(),
                tool.max()
            ),
            "shorten it: a longer label fails or is cut short after the disks are wiped",
        );
    }
    Ok(label.to_string())
}
