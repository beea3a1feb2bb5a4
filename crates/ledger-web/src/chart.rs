//! The North → South flow chart, drawn on the server as SVG geometry: contributors on the left,
//! mutuals on the right, one band per flow, each as thick as its share of what was sent. The
//! template draws the shapes; this module only places them (integer tenths of a pixel, so no
//! float reaches a figure shown to people: amounts are only compared to scale the bands).

use serde::Serialize;

/// Drawing width and the columns' positions, in SVG user units.
pub const WIDTH: i64 = 900;
pub const NODE_WIDTH: i64 = 14;
/// The columns leave room for labels of [`MAX_LABEL_CHARACTERS`] on their outer side.
pub const LEFT_X: i64 = 250;
pub const RIGHT_X: i64 = WIDTH - 300 - NODE_WIDTH;
/// Longer names are cut with an ellipsis in the drawing (the table below it has them whole).
pub const MAX_LABEL_CHARACTERS: usize = 34;
/// Height given to all the money sent, and the gap between two nodes of a column.
const FLOW_HEIGHT: i64 = 300;
const GAP: i64 = 18;
/// Room above the columns for their headings (North, South).
pub const TOP: i64 = 34;

fn label(name: &str) -> String {
    if name.chars().count() <= MAX_LABEL_CHARACTERS {
        return name.to_owned();
    }
    let cut: String = name.chars().take(MAX_LABEL_CHARACTERS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// A contributor or a mutual: a bar with its label.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub label: String,
    pub amount: String,
    pub x: i64,
    pub y: i64,
    pub height: i64,
    /// Where the label's text anchors (right of the left column, left of the right one).
    pub label_x: i64,
    pub label_y: i64,
    pub anchor: &'static str,
}

/// One band, as an SVG path.
#[derive(Debug, Clone, Serialize)]
pub struct Band {
    pub path: String,
    pub title: String,
    /// Which of the palette's colours (by contributor).
    pub colour: usize,
}

/// The whole chart.
#[derive(Debug, Clone, Serialize)]
pub struct FlowChart {
    pub width: i64,
    /// Where the two columns stand (for their headings).
    pub left_x: i64,
    pub right_x: i64,
    pub height: i64,
    pub sources: Vec<Node>,
    pub targets: Vec<Node>,
    pub bands: Vec<Band>,
}

/// A flow to draw: from, to, its size in minor units, and the texts shown.
#[derive(Debug, Clone)]
pub struct Flow {
    pub source: String,
    pub target: String,
    pub minor: i64,
    pub title: String,
}

/// The colours cycle after this many contributors.
pub const PALETTE_SIZE: usize = 6;

fn scaled(minor: i64, total: i64) -> i64 {
    if total <= 0 {
        return 0;
    }
    // i128: minor units times the drawing height cannot overflow.
    let height = i128::from(minor) * i128::from(FLOW_HEIGHT) / i128::from(total);
    i64::try_from(height).unwrap_or(FLOW_HEIGHT).max(2)
}

/// Places `flows`; `amount_of` writes a node's total as shown beside it.
pub fn flow_chart(flows: &[Flow], amount_of: impl Fn(i64) -> String) -> FlowChart {
    let total: i64 = flows.iter().map(|flow| flow.minor.max(0)).sum();
    let mut sources: Vec<(String, i64)> = Vec::new();
    let mut targets: Vec<(String, i64)> = Vec::new();
    for flow in flows {
        for (column, name) in [(&mut sources, &flow.source), (&mut targets, &flow.target)] {
            match column.iter_mut().find(|(label, _)| label == name) {
                Some((_, sum)) => *sum += flow.minor.max(0),
                None => column.push((name.clone(), flow.minor.max(0))),
            }
        }
    }
    let place = |column: &[(String, i64)], x: i64, left: bool| -> Vec<Node> {
        let mut y = TOP;
        column
            .iter()
            .map(|(label, minor)| {
                let height = scaled(*minor, total);
                let node = Node {
                    label: crate::chart::label(label),
                    amount: amount_of(*minor),
                    x,
                    y,
                    height,
                    label_x: if left { x - 8 } else { x + NODE_WIDTH + 8 },
                    label_y: y + height / 2,
                    anchor: if left { "end" } else { "start" },
                };
                y += height + GAP;
                node
            })
            .collect()
    };
    let source_nodes = place(&sources, LEFT_X, true);
    let target_nodes = place(&targets, RIGHT_X, false);
    // Each node's next free offset for a band leaving or arriving.
    let mut source_offsets = vec![0_i64; source_nodes.len()];
    let mut target_offsets = vec![0_i64; target_nodes.len()];
    let mut bands = Vec::with_capacity(flows.len());
    for flow in flows {
        let (Some(source), Some(target)) = (
            sources.iter().position(|(label, _)| *label == flow.source),
            targets.iter().position(|(label, _)| *label == flow.target),
        ) else {
            continue;
        };
        let thickness = scaled(flow.minor.max(0), total);
        let from_top = source_nodes[source].y + source_offsets[source];
        let to_top = target_nodes[target].y + target_offsets[target];
        source_offsets[source] += thickness;
        target_offsets[target] += thickness;
        let x0 = LEFT_X + NODE_WIDTH;
        let x1 = RIGHT_X;
        let middle = (x0 + x1) / 2;
        bands.push(Band {
            path: format!(
                "M{x0},{from_top} C{middle},{from_top} {middle},{to_top} {x1},{to_top} \
                 L{x1},{to_bottom} C{middle},{to_bottom} {middle},{from_bottom} {x0},{from_bottom} Z",
                to_bottom = to_top + thickness,
                from_bottom = from_top + thickness,
            ),
            title: flow.title.clone(),
            colour: source % PALETTE_SIZE,
        });
    }
    let bottom = |nodes: &[Node]| nodes.last().map_or(TOP, |node| node.y + node.height);
    FlowChart {
        width: WIDTH,
        left_x: LEFT_X,
        right_x: RIGHT_X,
        height: bottom(&source_nodes).max(bottom(&target_nodes)) + 24,
        sources: source_nodes,
        targets: target_nodes,
        bands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_as_thick_as_their_share_and_stack_inside_their_nodes() {
        // Proves proportional thickness and that the bands of one node do not overlap.
        let flow = |source: &str, target: &str, minor: i64| Flow {
            source: source.to_owned(),
            target: target.to_owned(),
            minor,
            title: format!("{source} → {target}"),
        };
        let chart = flow_chart(
            &[
                flow("A", "X", 300),
                flow("A", "Y", 100),
                flow("B", "X", 200),
            ],
            |minor| minor.to_string(),
        );
        assert_eq!(chart.sources.len(), 2);
        assert_eq!(chart.targets.len(), 2);
        assert_eq!(chart.sources[0].height, 200);
        assert_eq!(chart.sources[1].height, 100);
        assert_eq!(chart.targets[0].height, 250);
        assert_eq!(chart.sources[0].amount, "400");
        assert!(chart.bands[0].path.starts_with("M264,34 "));
        assert!(chart.bands[1].path.starts_with("M264,184 "));
        assert_eq!(label("short"), "short");
        let long = label("Mutuelle de santé des enseignants de l'EPST (MESP)");
        assert_eq!(long.chars().count(), MAX_LABEL_CHARACTERS);
        assert!(long.ends_with('…'));
        assert_eq!(chart.bands[2].colour, 1);
        let empty = flow_chart(&[], |minor| minor.to_string());
        assert!(empty.bands.is_empty());
    }
}
