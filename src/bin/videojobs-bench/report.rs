//! The one table: a row per measured figure with videojobs, the peer and the
//! floor side by side, their ratios, the target and whether it was met.

/// What a row's figure must reach.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// videojobs' figure at least this.
    AtLeast(f64),
    /// videojobs' figure at most this.
    AtMost(f64),
    /// videojobs ÷ peer at least this.
    PeerRatio(f64),
    /// videojobs ÷ floor at least this.
    FloorRatio(f64),
}

#[derive(Clone, Debug, Default)]
pub struct Row {
    pub scenario: String,
    pub metric: String,
    pub videojobs: Option<f64>,
    /// The peer's figure and what the peer is.
    pub peer: Option<f64>,
    pub floor: Option<(String, f64)>,
    pub targets: Vec<Target>,
    /// Printed with this many decimals.
    pub decimals: usize,
}

impl Row {
    pub fn new(scenario: impl Into<String>, metric: impl Into<String>, videojobs: f64) -> Row {
        Row { scenario: scenario.into(), metric: metric.into(), videojobs: Some(videojobs), ..Row::default() }
    }

    pub fn peer(mut self, value: Option<f64>) -> Row {
        self.peer = value;
        self
    }

    pub fn floor(mut self, name: &str, value: f64) -> Row {
        self.floor = Some((name.to_string(), value));
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.targets.push(target);
        self
    }

    pub fn decimals(mut self, decimals: usize) -> Row {
        self.decimals = decimals;
        self
    }

    fn peer_ratio(&self) -> Option<f64> {
        Some(self.videojobs? / self.peer.filter(|p| *p > 0.0)?)
    }

    fn floor_ratio(&self) -> Option<f64> {
        Some(self.videojobs? / self.floor.as_ref().map(|f| f.1).filter(|f| *f > 0.0)?)
    }

    fn verdict(&self) -> &'static str {
        if self.targets.is_empty() {
            return "";
        }
        let met = self.targets.iter().all(|target| match *target {
            Target::AtLeast(x) => self.videojobs.is_some_and(|v| v >= x),
            Target::AtMost(x) => self.videojobs.is_some_and(|v| v <= x),
            Target::PeerRatio(x) => self.peer_ratio().is_some_and(|r| r >= x),
            Target::FloorRatio(x) => self.floor_ratio().is_some_and(|r| r >= x),
        });
        if met { "pass" } else { "**fail**" }
    }

    fn cells(&self) -> Vec<String> {
        let number = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.*}", self.decimals));
        let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.2}×"));
        let floor =
            self.floor.as_ref().map_or("–".to_string(), |(name, v)| format!("{v:.*} ({name})", self.decimals));
        let targets: Vec<String> = self
            .targets
            .iter()
            .map(|t| match *t {
                Target::AtLeast(x) => format!("≥ {x}"),
                Target::AtMost(x) => format!("≤ {x}"),
                Target::PeerRatio(x) => format!("≥ {x}× BullMQ"),
                Target::FloorRatio(x) => format!("≥ {:.0}% of floor", x * 100.0),
            })
            .collect();
        vec![
            self.scenario.clone(),
            self.metric.clone(),
            number(self.videojobs),
            number(self.peer),
            floor,
            ratio(self.peer_ratio()),
            ratio(self.floor_ratio()),
            targets.join(", "),
            self.verdict().to_string(),
        ]
    }
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Adds a row and prints it at once, so a long run shows its progress.
    pub fn add(&mut self, row: Row) {
        println!("| {} |", row.cells().join(" | "));
        self.rows.push(row);
    }

    pub fn render(&self, machine: &str) -> String {
        let header =
            ["Scenario", "Metric", "videojobs", "BullMQ", "Floor", "vj ÷ BullMQ", "vj ÷ floor", "Target", "Result"];
        let mut out = format!("{machine}\n\n| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.cells().join(" | ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_passes_only_when_every_target_is_met() {
        let row = Row::new("1", "jobs/s", 300.0).peer(Some(100.0)).floor("spawn", 400.0);
        assert_eq!(row.clone().target(Target::PeerRatio(3.0)).target(Target::FloorRatio(0.6)).verdict(), "pass");
        assert_eq!(row.clone().target(Target::FloorRatio(0.8)).verdict(), "**fail**");
        assert_eq!(Row::new("3", "p99 ms", 30.0).target(Target::AtMost(25.0)).verdict(), "**fail**");
    }

    #[test]
    fn a_missing_peer_fails_a_peer_target() {
        assert_eq!(Row::new("2", "jobs/s", 5.0).target(Target::PeerRatio(1.0)).verdict(), "**fail**");
    }
}
