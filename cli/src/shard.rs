//! `--shard INDEX/COUNT`: one pod's share of the histories, as each pod of a
//! Kubernetes Indexed Job takes it (k8s/productresearch, batch Job).
//!
//! Shard `i` of `n` is every `n`-th usable history from position `i`, so the
//! shards are disjoint, cover the input, and differ in size by at most one.
//! The same input gives a pod the same histories every time, which is what
//! lets a restarted pod resume its shard from its output folder.

use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

/// Why a `--shard` value is not usable.
#[derive(Debug, thiserror::Error)]
#[error("--shard {0:?}: expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4")]
pub struct BadShard(String);

impl FromStr for Shard {
    type Err = BadShard;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadShard(s.to_string());
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = index.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// The items of `shard` (all of them without one), in their order.
pub fn select<T>(shard: Option<Shard>, items: Vec<T>) -> Vec<T> {
    let Some(Shard { index, count }) = shard else { return items };
    items.into_iter().enumerate().filter(|(k, _)| k % count == index).map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_over_count() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("INDEX/COUNT"), "{bad}: {err}");
        }
    }

    #[test]
    fn shards_are_disjoint_cover_everything_and_balance() {
        let items: Vec<u32> = (0..10).collect();
        let shards: Vec<Vec<u32>> = (0..3).map(|i| select(Some(Shard { index: i, count: 3 }), items.clone())).collect();
        assert_eq!(shards[0], [0, 3, 6, 9]);
        assert_eq!(shards[1], [1, 4, 7]);
        let mut all: Vec<u32> = shards.concat();
        all.sort();
        assert_eq!(all, items);
        assert_eq!(select(None, items.clone()), items);
        // More shards than items: the extra shards are empty, not an error.
        assert!(select(Some(Shard { index: 11, count: 12 }), items).is_empty());
    }
}
