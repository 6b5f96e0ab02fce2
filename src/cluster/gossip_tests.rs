//! The bus state machine over a simulated network: N `ClusterState`s whose
//! `Send`s are routed by link, with a controllable clock, delays, drops,
//! partitions, stopped and restarted nodes. Plus single-node tests of the
//! CLUSTER subcommands and of frames redis-server 7.0.15 sent.

use super::*;
use crate::cluster::msg::{Body, Message};
use crate::cluster::nodes_conf::NodesConf;
use crate::cluster::state::ResetMode;
use std::collections::{BTreeMap, HashSet};

const TIMEOUT: u64 = 2000;
const START: u64 = 1_800_000_000_000;

fn test_id(i: usize) -> NodeId {
    // Distinct, and ordered by index (collision handling compares ids).
    let s = format!("{:02x}{}", i + 1, "0".repeat(38));
    NodeId::parse(s.as_bytes()).unwrap_or_else(|| panic!("bad id {s}"))
}

enum Event {
    Frame(Bytes),
    Closed,
}

struct SimNode {
    state: ClusterState,
    ip: String,
    port: u16,
    cport: u16,
    up: bool,
    next_cron: u64,
    delivered: Vec<(Vec<u8>, Vec<u8>, bool)>,
    /// Links the node was told to close.
    closed: Vec<LinkId>,
    /// Todos that said replication must be (re)configured.
    replication_changes: usize,
}

struct Net {
    nodes: Vec<SimNode>,
    now: u64,
    /// (node, link) -> (peer node, peer link)
    conns: BTreeMap<(usize, LinkId), (usize, LinkId)>,
    /// (time, seq) -> (to node, its link, event)
    queue: BTreeMap<(u64, u64), (usize, LinkId, Event)>,
    seq: u64,
    /// Per receiving link: the time of its last queued event (FIFO).
    last_at: BTreeMap<(usize, LinkId), u64>,
    blocked: HashSet<(usize, usize)>,
    /// Chance per message, in thousandths, that the connection resets (the
    /// message is lost and both ends see the link close).
    drop_per_mille: u64,
    resets: u64,
    delay: (u64, u64),
    rng: SmallRng,
}

impl Net {
    fn new(n: usize, seed: u64) -> Net {
        let nodes = (0..n)
            .map(|i| {
                let mut state = ClusterState::with_id(test_id(i), 7000, 17000);
                state.node_timeout_ms = TIMEOUT;
                state.seed_bus_rng(seed ^ (i as u64 * 7919));
                state.update_state(START);
                SimNode {
                    state,
                    ip: format!("10.0.0.{}", i + 1),
                    port: 7000,
                    cport: 17000,
                    up: true,
                    next_cron: START + (i as u64 * 37) % 100,
                    delivered: Vec::new(),
                    closed: Vec::new(),
                    replication_changes: 0,
                }
            })
            .collect();
        Net {
            nodes,
            now: START,
            conns: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            last_at: BTreeMap::new(),
            blocked: HashSet::new(),
            drop_per_mille: 0,
            resets: 0,
            delay: (1, 3),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    fn st(&self, i: usize) -> &ClusterState {
        &self.nodes[i].state
    }

    fn st_mut(&mut self, i: usize) -> &mut ClusterState {
        &mut self.nodes[i].state
    }

    fn id(&self, i: usize) -> NodeId {
        self.nodes[i].state.my_id()
    }

    fn meet(&mut self, a: usize, b: usize) {
        let (ip, port, cport) = (
            self.nodes[b].ip.clone(),
            self.nodes[b].port,
            self.nodes[b].cport,
        );
        let now = self.now;
        self.nodes[a]
            .state
            .meet(&ip, port, cport, now)
            .expect("meet");
    }

    fn is_blocked(&self, a: usize, b: usize) -> bool {
        self.blocked.contains(&(a, b))
    }

    fn partition(&mut self, side_a: &[usize], side_b: &[usize]) {
        for &a in side_a {
            for &b in side_b {
                self.blocked.insert((a, b));
                self.blocked.insert((b, a));
            }
        }
    }

    fn heal(&mut self) {
        self.blocked.clear();
    }

    fn schedule(&mut self, to: usize, link: LinkId, at: u64, event: Event) {
        let last = self.last_at.get(&(to, link)).copied().unwrap_or(0);
        let at = at.max(last);
        self.last_at.insert((to, link), at);
        self.seq += 1;
        self.queue.insert((at, self.seq), (to, link, event));
    }

    /// The runtime's part after each event: update_state when asked.
    fn settle(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        let todo = node.state.take_todo();
        if todo.update_state {
            node.state.update_state(now);
        }
        if todo.replication_changed {
            node.replication_changes += 1;
        }
    }

    fn apply(&mut self, from: usize, actions: Vec<BusAction>) {
        let mut pending: std::collections::VecDeque<(usize, BusAction)> =
            actions.into_iter().map(|a| (from, a)).collect();
        while let Some((from, action)) = pending.pop_front() {
            let now = self.now;
            match action {
                BusAction::Connect { link, ip, cport } => {
                    // The link may have been closed meanwhile.
                    if !self.nodes[from].state.bus_links().any(|(l, _)| l == link) {
                        continue;
                    }
                    let target = self
                        .nodes
                        .iter()
                        .position(|n| n.up && n.ip == ip && n.cport == cport)
                        .filter(|&t| !self.is_blocked(from, t));
                    match target {
                        None => self.nodes[from].state.bus_link_closed(link, now),
                        Some(t) => {
                            let (from_ip, to_ip) =
                                (self.nodes[from].ip.clone(), self.nodes[t].ip.clone());
                            let inbound = self.nodes[t].state.bus_inbound_link(now);
                            self.nodes[t]
                                .state
                                .bus_link_addrs(inbound, &to_ip, &from_ip);
                            self.conns.insert((from, link), (t, inbound));
                            self.conns.insert((t, inbound), (from, link));
                            self.nodes[from]
                                .state
                                .bus_link_addrs(link, &from_ip, &to_ip);
                            let more = self.nodes[from].state.bus_link_connected(link, now);
                            pending.extend(more.into_iter().map(|a| (from, a)));
                        }
                    }
                }
                BusAction::Send { link, msg } => {
                    let Some(&(t, tl)) = self.conns.get(&(from, link)) else {
                        continue;
                    };
                    if self.is_blocked(from, t) {
                        continue;
                    }
                    if self.drop_per_mille > 0
                        && self.rng.random_range(0..1000) < self.drop_per_mille
                    {
                        self.resets += 1;
                        self.conns.remove(&(from, link));
                        self.conns.remove(&(t, tl));
                        self.schedule(from, link, now, Event::Closed);
                        self.schedule(t, tl, now, Event::Closed);
                        continue;
                    }
                    let delay = self.rng.random_range(self.delay.0..=self.delay.1);
                    self.schedule(t, tl, now + delay, Event::Frame(msg));
                }
                BusAction::Close { link } => {
                    self.nodes[from].closed.push(link);
                    if let Some((t, tl)) = self.conns.remove(&(from, link)) {
                        self.conns.remove(&(t, tl));
                        if !self.is_blocked(from, t) {
                            self.schedule(t, tl, now, Event::Closed);
                        }
                    }
                }
                BusAction::Deliver {
                    channel,
                    message,
                    shard,
                } => self.nodes[from].delivered.push((channel, message, shard)),
            }
        }
        self.settle(from);
    }

    /// Runs events until `ms` have passed.
    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        self.run_until(end, |_| false);
    }

    /// Runs until `done` holds (checked after every event) or `deadline`;
    /// true if `done` held.
    fn run_until(&mut self, deadline: u64, mut done: impl FnMut(&Net) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            let next_cron = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.up)
                .map(|(i, n)| (n.next_cron, i))
                .min();
            let next_event = self.queue.keys().next().copied();
            let take_event = match (next_event, next_cron) {
                (Some((t, _)), Some((c, _))) => t <= c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => {
                    self.now = deadline;
                    return done(self);
                }
            };
            let at = if take_event {
                next_event.map_or(deadline, |(t, _)| t)
            } else {
                next_cron.map_or(deadline, |(c, _)| c)
            };
            if at > deadline {
                self.now = deadline;
                return done(self);
            }
            self.now = self.now.max(at);
            let now = self.now;
            if take_event {
                let Some((_, (to, link, event))) = self.queue.pop_first() else {
                    continue;
                };
                if !self.nodes[to].up {
                    continue;
                }
                match event {
                    Event::Frame(frame) => {
                        let out = self.nodes[to].state.bus_receive(link, &frame, now);
                        self.apply(to, out);
                    }
                    Event::Closed => {
                        self.nodes[to].state.bus_link_closed(link, now);
                        self.settle(to);
                    }
                }
            } else if let Some((_, i)) = next_cron {
                self.nodes[i].next_cron += 100;
                let out = self.nodes[i].state.bus_cron(now);
                self.apply(i, out);
            }
        }
    }

    /// Stops a node: its connections close (the peers see them close).
    fn stop(&mut self, i: usize) {
        self.nodes[i].up = false;
        let mine: Vec<((usize, LinkId), (usize, LinkId))> = self
            .conns
            .iter()
            .filter(|((n, _), _)| *n == i)
            .map(|(k, v)| (*k, *v))
            .collect();
        for (k, (t, tl)) in mine {
            self.conns.remove(&k);
            self.conns.remove(&(t, tl));
            let now = self.now;
            self.schedule(t, tl, now, Event::Closed);
        }
    }

    /// Restarts a stopped node from its nodes.conf, as a new process.
    fn restart(&mut self, i: usize) {
        let text = self.nodes[i].state.nodes_conf_text();
        let conf = NodesConf::parse(text.as_bytes()).expect("nodes.conf");
        let mut state = ClusterState::from_conf(conf).expect("state");
        state.set_my_ports(self.nodes[i].port, self.nodes[i].cport);
        state.node_timeout_ms = TIMEOUT;
        state.seed_bus_rng(i as u64 + 99);
        state.update_state(self.now);
        let _ = state.take_todo();
        self.nodes[i].state = state;
        self.nodes[i].up = true;
        self.nodes[i].next_cron = self.now + 1;
    }

    /// Every node knows every other by its real id, none in handshake.
    fn converged(&self) -> bool {
        let ids: HashSet<NodeId> = (0..self.nodes.len()).map(|i| self.id(i)).collect();
        self.nodes.iter().all(|n| {
            let known: HashSet<NodeId> = n.state.nodes().map(|x| x.id).collect();
            known == ids
                && n.state
                    .others()
                    .iter()
                    .all(|o| !o.in_handshake() && o.link_connected && o.pong_received > 0)
        })
    }

    fn flags_everywhere(&self, about: usize, flag: NodeFlags, except: &[usize]) -> bool {
        let id = self.id(about);
        (0..self.nodes.len())
            .filter(|i| *i != about && !except.contains(i))
            .all(|i| self.st(i).node(&id).is_some_and(|n| n.flags.contains(flag)))
    }

    fn slots_agree(&self) -> bool {
        let first: Vec<Option<NodeId>> = (0..SLOTS as u16)
            .map(|s| self.st(0).slot_owner(s).map(|n| n.id))
            .collect();
        (1..self.nodes.len()).all(|i| {
            (0..SLOTS as u16).all(|s| self.st(i).slot_owner(s).map(|n| n.id) == first[s as usize])
        })
    }
}

fn args(line: &str) -> Vec<&[u8]> {
    line.split_ascii_whitespace().map(str::as_bytes).collect()
}

/// `n` masters serving the slots in equal ranges, distinct config epochs
/// (set as `redis-cli --cluster create` does), met in a chain, converged.
fn cluster(n: usize, seed: u64) -> Net {
    let per = SLOTS / n;
    let ranges: Vec<Option<(usize, usize)>> = (0..n)
        .map(|i| {
            let start = i * per;
            Some((
                start,
                if i == n - 1 {
                    SLOTS - 1
                } else {
                    start + per - 1
                },
            ))
        })
        .collect();
    cluster_with(&ranges, seed)
}

/// [`cluster`] with the given slot range per node (`None`: no slots).
fn cluster_with(ranges: &[Option<(usize, usize)>], seed: u64) -> Net {
    let n = ranges.len();
    let mut net = Net::new(n, seed);
    for (i, range) in ranges.iter().enumerate() {
        if let Some((start, end)) = range {
            let range = format!("{start} {end}");
            net.st_mut(i)
                .add_slots_range(&args(&range))
                .expect("addslotsrange");
        }
        net.st_mut(i)
            .set_config_epoch(&args(&(i + 1).to_string()))
            .expect("epoch");
    }
    for i in 1..n {
        net.meet(i - 1, i);
    }
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, Net::converged), "no convergence");
    net
}

/// Three masters sharing the slots, and a fourth node without slots.
fn three_masters_and_a_spare(seed: u64) -> Net {
    cluster_with(
        &[
            Some((0, 5460)),
            Some((5461, 10922)),
            Some((10923, 16383)),
            None,
        ],
        seed,
    )
}

#[test]
fn six_nodes_converge_after_a_chain_of_meets() {
    let mut net = Net::new(6, 1);
    for i in 1..6 {
        net.meet(i - 1, i);
    }
    // MEET only adds a handshake node, with a random name.
    let h = &net.st(0).others()[0];
    assert!(h.in_handshake() && h.flags.contains(NodeFlags::MEET));
    assert!(net
        .st(0)
        .nodes_text()
        .contains(" handshake - 0 0 0 disconnected"));
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, Net::converged));
    // Names were replaced by the real ones, addresses learned from MEETs.
    for i in 0..6 {
        let st = net.st(i);
        assert_eq!(st.myself().ip, format!("10.0.0.{}", i + 1));
        for j in (0..6).filter(|j| *j != i) {
            let n = st.node(&net.id(j)).expect("known");
            assert_eq!(n.ip, format!("10.0.0.{}", j + 1));
            assert_eq!((n.port, n.cport), (7000, 17000));
            assert!(n.is_master());
            assert!(n.link.is_some());
        }
        assert!(!st.nodes_text().contains("handshake"));
        assert!(st.info_text().contains("cluster_known_nodes:6\r\n"));
        assert!(st.stats.sent[msg::TYPE_PING as usize] > 0);
        assert!(st.stats.received[msg::TYPE_PONG as usize] > 0);
    }
    // MEETs were sent by the nodes that ran CLUSTER MEET only.
    assert!(net.st(0).stats.sent[msg::TYPE_MEET as usize] >= 1);
    assert_eq!(net.st(5).stats.sent[msg::TYPE_MEET as usize], 0);
    assert!(net
        .st(5)
        .info_text()
        .contains("cluster_stats_messages_meet_received:"));
    // Links: one outbound per node, and identified inbound ones.
    net.run(5_000);
    for i in 0..6 {
        let st = net.st(i);
        let outbound = st.bus_links().filter(|(_, l)| !l.inbound).count();
        assert_eq!(outbound, 5, "node {i}");
        for o in st.others() {
            assert!(o.inbound_link.is_some(), "node {i} about {}", o.id);
        }
    }
}

#[test]
fn slot_ownership_spreads_and_the_cluster_turns_ok() {
    let mut net = cluster(6, 2);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| n.slots_agree()
        && (0..6).all(|i| n.st(i).is_ok())));
    for i in 0..6 {
        let st = net.st(i);
        assert!(st.info_text().contains("cluster_slots_assigned:16384\r\n"));
        assert!(st.info_text().contains("cluster_size:6\r\n"));
        assert_eq!(st.current_epoch(), 6);
        for j in 0..6 {
            assert_eq!(
                st.node(&net.id(j)).map(|n| n.config_epoch),
                Some(j as u64 + 1)
            );
        }
    }
    // CLUSTER NODES of node 0 shows the others' slots and epochs.
    let text = net.st(0).nodes_text();
    assert!(text.contains(&format!("{} 10.0.0.2:7000@17000 master - ", net.id(1))));
    assert!(text.contains(" 2 connected 2730-5459\n"), "{text}");
}

#[test]
fn a_stopped_master_fails_everywhere_and_recovers_when_back() {
    let mut net = cluster(6, 3);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| (0..6).all(|i| n.st(i).is_ok())));
    let victim = 5;
    net.stop(victim);
    let stopped_at = net.now;

    // PFAIL first on some node, after the node timeout.
    let mut saw_pfail = false;
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, |n| {
        let id = n.id(victim);
        saw_pfail |= (0..5).any(|i| {
            n.st(i)
                .node(&id)
                .is_some_and(|x| x.flags.contains(NodeFlags::PFAIL))
        });
        n.flags_everywhere(victim, NodeFlags::FAIL, &[])
    }));
    assert!(saw_pfail);
    assert!(net.now - stopped_at > TIMEOUT, "failed too early");
    assert!(net.now - stopped_at < 5 * TIMEOUT, "failed too late");
    // FAIL was broadcast.
    assert!((0..5).any(|i| net.st(i).stats.sent[msg::TYPE_FAIL as usize] > 0));
    // Full coverage is gone: cluster_state fail on every live node.
    net.run(500);
    let now = net.now;
    let victim_id = net.id(victim);
    for i in 0..5 {
        let st = net.st_mut(i);
        assert!(!st.is_ok(), "node {i}");
        let info = st.info_text();
        assert!(info.contains("cluster_slots_fail:2734\r\n"), "{info}");
        assert!(st.nodes_text().contains("master,fail"));
        assert!(st.count_failure_reports(victim_id.as_bytes(), now).is_ok());
    }

    // Back: masters with slots get their FAIL cleared once it is old
    // enough (2 × node timeout), as nobody took their slots.
    net.restart(victim);
    let back_at = net.now;
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, |n| (0..6).all(|i| {
        n.st(i)
            .nodes()
            .all(|x| !x.flags.intersects(NodeFlags::FAIL | NodeFlags::PFAIL))
    })));
    let fail_time = net.st(0).node(&net.id(victim)).map_or(0, |n| n.fail_time);
    assert!(net.now >= fail_time + 2 * TIMEOUT);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| (0..6).all(|i| n.st(i).is_ok())));
    assert!(net.now > back_at);
    assert!(net.slots_agree());
}

#[test]
fn a_replica_loses_fail_as_soon_as_it_answers() {
    let mut net = three_masters_and_a_spare(4);
    // Node 3 replicates node 0.
    let master = net.id(0);
    net.st_mut(3).replicate(&master).expect("replicate");
    assert!(net.st_mut(3).take_todo().replication_changed);
    net.run(5_000);
    for i in 0..3 {
        let r = net.st(i).node(&net.id(3)).expect("known");
        assert!(r.is_replica() && r.replica_of == Some(master), "node {i}");
        assert!(net
            .st(i)
            .nodes_text()
            .contains(&format!(" slave {master} ")));
    }
    assert!(net.slots_agree());

    net.stop(3);
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, |n| n.flags_everywhere(3, NodeFlags::FAIL, &[3])));
    // A failed replica does not take the cluster down.
    net.run(3_000);
    assert!((0..3).all(|i| net.st(i).is_ok()));
    net.restart(3);
    let t0 = net.now;
    let deadline = net.now + 5_000;
    assert!(net.run_until(deadline, |n| (0..3).all(|i| {
        n.st(i)
            .node(&n.id(3))
            .is_some_and(|x| !x.flags.intersects(NodeFlags::FAIL | NodeFlags::PFAIL))
    })));
    assert!(net.now - t0 < 2 * TIMEOUT, "replicas are cleared at once");
}

#[test]
fn config_epoch_collisions_end_distinct() {
    // Two masters with the same epoch.
    let mut net = Net::new(2, 5);
    for i in 0..2 {
        net.st_mut(i).set_config_epoch(&args("5")).expect("epoch");
    }
    net.meet(0, 1);
    let deadline = net.now + 20_000;
    assert!(net.run_until(deadline, |n| n.converged()
        && n.st(0).config_epoch() != n.st(1).config_epoch()));
    // The node with the smaller id moved to a new epoch.
    assert_eq!(net.st(1).config_epoch(), 5);
    assert_eq!(net.st(0).config_epoch(), 6);
    net.run(3_000);
    assert_eq!(net.st(0).current_epoch(), 6);
    assert_eq!(net.st(1).current_epoch(), 6);

    // Six fresh masters, all at epoch 0, every one with slots.
    let mut net = Net::new(6, 6);
    for i in 0..6 {
        let range = format!("{} {}", i * 100, i * 100 + 99);
        net.st_mut(i).add_slots_range(&args(&range)).expect("add");
    }
    for i in 1..6 {
        net.meet(0, i);
    }
    let deadline = net.now + 60_000;
    assert!(net.run_until(deadline, |n| {
        let epochs: HashSet<u64> = (0..6).map(|i| n.st(i).config_epoch()).collect();
        n.converged() && epochs.len() == 6
    }));
    // The node with the greatest id never moves.
    assert_eq!(net.st(5).config_epoch(), 0);
    // Everyone agrees on everyone's epoch.
    net.run(5_000);
    for i in 0..6 {
        for j in 0..6 {
            assert_eq!(
                net.st(i).node(&net.id(j)).map(|n| n.config_epoch),
                Some(net.st(j).config_epoch())
            );
        }
    }
}

#[test]
fn a_partition_heals_and_stale_claims_get_an_update() {
    let mut net = cluster(5, 7);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| (0..5).all(|i| n.st(i).is_ok())));

    net.partition(&[0, 1], &[2, 3, 4]);
    let deadline = net.now + 30_000;
    assert!(
        net.run_until(deadline, |n| n.flags_everywhere(0, NodeFlags::FAIL, &[1])
            && n.flags_everywhere(1, NodeFlags::FAIL, &[0]))
    );
    net.run(6_000);
    // The minority side knows it is the minority.
    assert!(!net.st(0).is_ok() && !net.st(1).is_ok());
    assert!(net
        .st(0)
        .node(&net.id(2))
        .is_some_and(|n| n.flags.intersects(NodeFlags::PFAIL | NodeFlags::FAIL)));

    // Meanwhile the majority moves slot 5 from node 0 to node 2, the way
    // redis-cli does: IMPORTING then NODE on the importing side, which
    // takes a new config epoch without agreement and tells everyone.
    let from = net.id(0);
    let to = net.id(2);
    net.st_mut(2)
        .setslot(&[b"5".as_slice(), b"importing", from.as_bytes()], 0)
        .expect("importing");
    assert!(net.st(2).nodes_text().contains(&format!("[5-<-{from}]")));
    let epoch_before = net.st(2).config_epoch();
    net.st_mut(2)
        .setslot(&[b"5".as_slice(), b"node", to.as_bytes()], 0)
        .expect("node");
    assert!(net.st(2).config_epoch() > epoch_before);
    assert!(net.st(2).open_slots().is_empty());
    assert!(net.st_mut(2).take_todo().slots_changed);
    let pongs = net.st_mut(2).take_bus_actions();
    assert!(pongs.iter().any(|a| matches!(a, BusAction::Send { .. })));
    net.apply(2, pongs);
    net.run(1_000);
    for i in 2..5 {
        assert_eq!(net.st(i).slot_owner(5).map(|n| n.id), Some(to), "node {i}");
    }
    assert_eq!(net.st(0).slot_owner(5).map(|n| n.id), Some(from));

    net.heal();
    let deadline = net.now + 40_000;
    assert!(net.run_until(deadline, |n| n.slots_agree()
        && (0..5).all(|i| n.st(i).is_ok())
        && (0..5).all(|i| n
            .st(i)
            .nodes()
            .all(|x| !x.flags.intersects(NodeFlags::FAIL | NodeFlags::PFAIL)))));
    assert_eq!(net.st(0).slot_owner(5).map(|n| n.id), Some(to));
    // Node 0 lost slot 5 while staying a master: its keys must go.
    assert_eq!(net.st_mut(0).take_lost_slots(), vec![5]);
    assert!(net.st(0).my_slots().count() == SLOTS / 5 - 1);
}

#[test]
fn update_messages_fix_a_stale_master() {
    // A, B, C. C learns that slot 7 moved from A to B with a newer epoch;
    // A, cut off from B, still claims it when it pings C: C sends UPDATE.
    let mut net = cluster(3, 8);
    net.run(3_000);
    net.partition(&[0], &[1]);
    let a = net.id(0);
    let b = net.id(1);
    net.st_mut(1)
        .setslot(&[b"7".as_slice(), b"importing", a.as_bytes()], 0)
        .expect("importing");
    net.st_mut(1)
        .setslot(&[b"7".as_slice(), b"node", b.as_bytes()], 0)
        .expect("node");
    let out = net.st_mut(1).take_bus_actions();
    net.apply(1, out);
    let deadline = net.now + 20_000;
    assert!(net.run_until(deadline, |n| n.st(0).slot_owner(7).map(|x| x.id) == Some(b)));
    assert!(net.st(2).stats.sent[msg::TYPE_UPDATE as usize] > 0);
    assert!(net.st(0).stats.received[msg::TYPE_UPDATE as usize] > 0);
    assert_eq!(net.st_mut(0).take_lost_slots(), vec![7]);
    assert!(net.st(0).myself().is_master());
}

#[test]
fn a_master_losing_all_its_slots_becomes_a_replica() {
    let mut net = cluster_with(&[Some((0, 9)), Some((10, 8000)), Some((8001, 16383))], 9);
    net.run(2_000);
    let a = net.id(0);
    let c = net.id(2);
    // Move every slot of A to C.
    let slots: Vec<String> = net.st(0).my_slots().iter().map(|s| s.to_string()).collect();
    for s in &slots {
        net.st_mut(2)
            .setslot(&[s.as_bytes(), b"importing", a.as_bytes()], 0)
            .expect("importing");
    }
    for s in &slots {
        net.st_mut(2)
            .setslot(&[s.as_bytes(), b"node", c.as_bytes()], 0)
            .expect("node");
    }
    let out = net.st_mut(2).take_bus_actions();
    net.apply(2, out);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| n.st(0).myself().is_replica()));
    assert_eq!(net.st(0).myself().replica_of, Some(c));
    assert!(net.nodes[0].replication_changes > 0);
    net.run(3_000);
    assert!(net.st(1).node(&a).is_some_and(|n| n.is_replica()));
    assert!(net
        .st(1)
        .nodes_text()
        .contains(&format!("{a} 10.0.0.1:7000@17000 slave {c} ")));
}

#[test]
fn slow_and_resetting_links_keep_the_cluster_together() {
    let mut net = Net::new(6, 10);
    net.delay = (1, 400);
    for i in 1..6 {
        net.meet(i - 1, i);
    }
    let deadline = net.now + 60_000;
    assert!(net.run_until(deadline, Net::converged));
    // Now connections reset now and then (a message lost with them).
    net.drop_per_mille = 20;
    net.run(30_000);
    assert!(net.resets > 20, "{}", net.resets);
    net.drop_per_mille = 0;
    let deadline = net.now + 20_000;
    assert!(net.run_until(deadline, |n| n.converged()
        && (0..6).all(|i| n
            .st(i)
            .nodes()
            .all(|x| !x.flags.intersects(NodeFlags::FAIL | NodeFlags::PFAIL)))));
}

#[test]
fn publish_reaches_every_node_and_spublish_the_shard() {
    let mut net = three_masters_and_a_spare(11);
    let master = net.id(0);
    net.st_mut(3).replicate(&master).expect("replicate");
    net.run(5_000);

    let out = net.st_mut(1).bus_publish(b"news", b"hello", false);
    assert_eq!(
        out.iter()
            .filter(|a| matches!(a, BusAction::Send { .. }))
            .count(),
        3
    );
    net.apply(1, out);
    net.run(100);
    for i in [0, 2, 3] {
        assert_eq!(
            net.nodes[i].delivered,
            vec![(b"news".to_vec(), b"hello".to_vec(), false)]
        );
    }
    assert!(net.nodes[1].delivered.is_empty());
    assert!(net
        .st(0)
        .info_text()
        .contains("cluster_stats_messages_publish_received:1\r\n"));

    for n in &mut net.nodes {
        n.delivered.clear();
    }
    let out = net.st_mut(0).bus_publish(b"ch", b"m", true);
    net.apply(0, out);
    net.run(100);
    assert_eq!(
        net.nodes[3].delivered,
        vec![(b"ch".to_vec(), b"m".to_vec(), true)]
    );
    assert!((0..3).all(|i| net.nodes[i].delivered.is_empty()));
    assert!(net
        .st(0)
        .info_text()
        .contains("cluster_stats_messages_publishshard_sent:1\r\n"));
    // From the replica, to its master.
    let out = net.st_mut(3).bus_publish(b"ch", b"r", true);
    net.apply(3, out);
    net.run(100);
    assert_eq!(
        net.nodes[0].delivered,
        vec![(b"ch".to_vec(), b"r".to_vec(), true)]
    );
}

#[test]
fn forget_blacklists_for_a_minute() {
    let mut net = cluster(3, 12);
    let c = net.id(2);
    let now = net.now;
    net.st_mut(0).forget(c.as_bytes(), now).expect("forget");
    assert!(net.st(0).node(&c).is_none());
    assert!(net.st(0).bus_links().all(|(_, l)| l.node != Some(c)));
    let out = net.st_mut(0).take_bus_actions();
    assert!(out.iter().any(|a| matches!(a, BusAction::Close { .. })));
    net.apply(0, out);
    // Node 1 keeps gossiping about C, but node 0 does not take it back...
    net.run(50_000);
    assert!(net.st(0).node(&c).is_none());
    // ...until the blacklist expires.
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, |n| n.st(0).node(&c).is_some()));
    assert!(net.now - START > 60_000);

    // Errors, with Redis's texts.
    let me = net.id(0);
    let st = net.st_mut(0);
    let now = START;
    assert_eq!(
        st.forget(b"nope", now).map_err(|e| e.to_string()),
        Err("ERR Unknown node nope".into())
    );
    assert_eq!(
        st.forget(me.as_bytes(), now).map_err(|e| e.to_string()),
        Err("ERR I tried hard but I can't forget myself...".into())
    );
}

#[test]
fn forgotten_node_extension_spreads_a_forget() {
    let mut net = cluster(3, 13);
    net.run(2_000);
    let c = net.id(2);
    net.st_mut(0).gossip_forgotten_nodes = true;
    let now = net.now;
    net.st_mut(0).forget(c.as_bytes(), now).expect("forget");
    let out = net.st_mut(0).take_bus_actions();
    net.apply(0, out);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| n.st(1).node(&c).is_none()));
    let now = net.now;
    assert!(net.st_mut(1).is_blacklisted(&c, now));
    net.run(20_000);
    assert!(net.st(0).node(&c).is_none() && net.st(1).node(&c).is_none());
}

#[test]
fn handshakes_with_nobody_time_out() {
    let mut net = Net::new(1, 14);
    net.st_mut(0)
        .meet("10.9.9.9", 7000, 17000, START)
        .expect("meet");
    // A second MEET to the same address while in progress is fine.
    net.st_mut(0)
        .meet("10.9.9.9", 7000, 17000, START)
        .expect("meet");
    assert_eq!(net.st(0).others().len(), 1);
    net.run(TIMEOUT - 200);
    assert_eq!(net.st(0).others().len(), 1);
    net.run(500);
    assert!(net.st(0).others().is_empty());
    assert!(net.st(0).bus_links().next().is_none());
}

#[test]
fn meet_parses_like_redis() {
    let mut st = ClusterState::with_id(test_id(0), 7000, 17000);
    let e = |r: Result<(), ClusterError>| r.map_err(|e| e.to_string());
    assert_eq!(
        e(st.meet_command(b"meet", &args("127.0.0.1 x"), START)),
        Err("ERR Invalid TCP base port specified: x".into())
    );
    assert_eq!(
        e(st.meet_command(b"meet", &args("127.0.0.1 7001 -"), START)),
        Err("ERR Invalid TCP bus port specified: -".into())
    );
    assert_eq!(
        e(st.meet_command(b"meet", &args("localhost 7001"), START)),
        Err("ERR Invalid node address specified: localhost:7001".into())
    );
    assert_eq!(
        e(st.meet_command(b"meet", &args("127.0.0.1 70000"), START)),
        Err("ERR Invalid node address specified: 127.0.0.1:70000".into())
    );
    assert_eq!(
        e(st.meet_command(b"meet", &args("127.0.0.1 0"), START)),
        Err("ERR Invalid node address specified: 127.0.0.1:0".into())
    );
    assert_eq!(
        e(st.meet_command(b"meet", &args("127.0.0.1 60000"), START)),
        Err("ERR Invalid node address specified: 127.0.0.1:60000".into())
    );
    assert_eq!(
        e(st.meet_command(b"MEET", &args("a b c d"), START)),
        Err(
            "ERR unknown subcommand or wrong number of arguments for 'MEET'. Try CLUSTER HELP."
                .into()
        )
    );
    assert!(st.others().is_empty());
    st.meet_command(b"meet", &args("::ffff:127.0.0.1 7001"), START)
        .expect("v6");
    st.meet_command(b"meet", &args("2001:DB8:0:0::1 7002 7"), START)
        .expect("v6");
    let addrs: Vec<(String, u16, u16)> = st
        .others()
        .iter()
        .map(|n| (n.ip.clone(), n.port, n.cport))
        .collect();
    assert_eq!(
        addrs,
        vec![
            ("::ffff:127.0.0.1".into(), 7001, 17001),
            ("2001:db8::1".into(), 7002, 7)
        ]
    );
    // Handshake nodes are not saved.
    assert!(!st.nodes_conf_text().contains("handshake"));
}

/// A state that knows a master (`b...`, slots 100-199) and its replica
/// (`c...`), from a nodes.conf.
fn three() -> ClusterState {
    let text = "\
0100000000000000000000000000000000000000 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99
0200000000000000000000000000000000000000 10.0.0.2:7000@17000 master - 0 0 2 connected 100-199
0300000000000000000000000000000000000000 10.0.0.3:7000@17000 slave 0200000000000000000000000000000000000000 0 0 2 connected
vars currentEpoch 2 lastVoteEpoch 0
";
    let mut st =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("conf")).expect("state");
    let _ = st.take_todo();
    st
}

const B: &str = "0200000000000000000000000000000000000000";
const C: &str = "0300000000000000000000000000000000000000";

#[test]
fn setslot_matches_redis() {
    let mut st = three();
    let e = |r: Result<(), ClusterError>| r.map_err(|e| e.to_string());
    let set = |st: &mut ClusterState, line: &str, keys: u64| e(st.setslot(&args(line), keys));
    assert_eq!(
        set(&mut st, "5", 0),
        Err("ERR wrong number of arguments for 'cluster|setslot' command".into())
    );
    assert_eq!(
        set(&mut st, "16384 stable", 0),
        Err("ERR Invalid or out of range slot".into())
    );
    assert_eq!(
        set(&mut st, "5 stable x", 0),
        Err("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP".into())
    );
    assert_eq!(
        set(&mut st, "5 bogus", 0),
        Err("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP".into())
    );
    assert_eq!(
        set(&mut st, "5 migrating", 0),
        Err("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP".into())
    );
    assert_eq!(
        set(&mut st, &format!("150 migrating {B}"), 0),
        Err("ERR I'm not the owner of hash slot 150".into())
    );
    assert_eq!(
        set(&mut st, "5 migrating nobody", 0),
        Err("ERR I don't know about node nobody".into())
    );
    assert_eq!(
        set(&mut st, &format!("5 migrating {C}"), 0),
        Err("ERR Target node is not a master".into())
    );
    assert_eq!(
        set(&mut st, &format!("5 importing {B}"), 0),
        Err("ERR I'm already the owner of hash slot 5".into())
    );
    assert_eq!(
        set(&mut st, &format!("150 importing {C}"), 0),
        Err("ERR Target node is not a master".into())
    );
    assert_eq!(
        set(&mut st, "150 node nobody", 0),
        Err("ERR Unknown node nobody".into())
    );
    assert_eq!(
        set(&mut st, &format!("5 node {C}"), 0),
        Err("ERR Target node is not a master".into())
    );
    assert_eq!(
        set(&mut st, &format!("5 node {B}"), 3),
        Err("ERR Can't assign hashslot 5 to a different node while I still hold keys for this hash slot.".into())
    );
    assert_eq!(st.take_todo(), Todo::default());

    // MIGRATING, then NODE with no keys left: the migration closes.
    assert_eq!(set(&mut st, &format!("5 MIGRATING {B}"), 0), Ok(()));
    let t = st.take_todo();
    assert!(t.save_config && t.update_state && !t.slots_changed);
    assert!(st.nodes_text().contains(&format!("0-99 [5->-{B}]\n")));
    assert_eq!(set(&mut st, &format!("5 node {B}"), 0), Ok(()));
    assert!(st.open_slots().is_empty());
    assert_eq!(st.slot_owner(5).map(|n| n.port), Some(7000));
    assert_eq!(
        st.slot_owner(5).map(|n| n.id.to_string()),
        Some(B.to_string())
    );
    assert!(st.take_todo().slots_changed);
    // No epoch bump for giving a slot away.
    assert_eq!(st.config_epoch(), 1);

    // IMPORTING then NODE myself: a new config epoch, a PONG to everyone.
    assert_eq!(set(&mut st, &format!("150 importing {B}"), 0), Ok(()));
    assert!(st.nodes_text().contains(&format!("[150-<-{B}]")));
    let me = st.my_id().to_string();
    assert_eq!(set(&mut st, &format!("150 node {me}"), 0), Ok(()));
    assert!(st.my_slots().contains(150));
    assert_eq!((st.config_epoch(), st.current_epoch()), (3, 3));
    assert!(st.open_slots().is_empty());
    let t = st.take_todo();
    assert!(t.save_config && t.fsync_config && t.slots_changed);
    // No links yet, so nothing to send.
    assert!(st.take_bus_actions().is_empty());

    // STABLE clears both directions.
    assert_eq!(set(&mut st, &format!("6 migrating {B}"), 0), Ok(()));
    assert_eq!(set(&mut st, &format!("160 importing {B}"), 0), Ok(()));
    assert_eq!(set(&mut st, "6 stable", 0), Ok(()));
    assert_eq!(set(&mut st, "160 STABLE", 0), Ok(()));
    assert!(st.open_slots().is_empty());

    // Giving away the last slots turns a master into a replica.
    let mut lone = three();
    let mine: Vec<u16> = lone.my_slots().iter().collect();
    for s in mine {
        assert_eq!(
            e(lone.setslot(&[s.to_string().as_bytes(), b"node", B.as_bytes()], 0)),
            Ok(())
        );
    }
    assert!(lone.myself().is_replica());
    assert_eq!(
        lone.myself().replica_of.map(|n| n.to_string()),
        Some(B.to_string())
    );
    assert!(lone.take_todo().replication_changed);
    assert_eq!(
        set(&mut lone, "5 stable", 0),
        Err("ERR Please use SETSLOT only with masters.".into())
    );
}

#[test]
fn replicate_matches_redis() {
    let e = |r: Result<(), ClusterError>| r.map_err(|e| e.to_string());
    let mut st = three();
    let me = st.my_id().to_string();
    assert_eq!(
        e(st.replicate_command(b"nobody", false)),
        Err("ERR Unknown node nobody".into())
    );
    assert_eq!(
        e(st.replicate_command(me.as_bytes(), false)),
        Err("ERR Can't replicate myself".into())
    );
    assert_eq!(
        e(st.replicate_command(C.as_bytes(), false)),
        Err("ERR I can only replicate a master, not a replica.".into())
    );
    assert_eq!(
        e(st.replicate_command(B.as_bytes(), false)),
        Err("ERR To set a master the node must be empty and without assigned slots.".into())
    );
    st.flush_slots();
    assert_eq!(
        e(st.replicate_command(B.as_bytes(), true)),
        Err("ERR To set a master the node must be empty and without assigned slots.".into())
    );
    let _ = st.take_todo();
    assert_eq!(e(st.replicate_command(B.as_bytes(), false)), Ok(()));
    let t = st.take_todo();
    assert!(t.save_config && t.update_state && t.replication_changed);
    assert!(st.nodes_text().contains(&format!(
        "{me} 10.0.0.1:7000@17000 myself,slave {B} 0 0 2 connected\n"
    )));
    // A replica may switch masters even with keys.
    let mut text = st.nodes_conf_text();
    text = text.replace(
        "0300000000000000000000000000000000000000 10.0.0.3:7000@17000 slave 0200000000000000000000000000000000000000",
        "0300000000000000000000000000000000000000 10.0.0.3:7000@17000 master -",
    );
    let mut st =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("conf")).expect("state");
    assert_eq!(e(st.replicate_command(C.as_bytes(), true)), Ok(()));
    assert_eq!(
        st.myself().replica_of.map(|n| n.to_string()),
        Some(C.to_string())
    );
    assert_eq!(
        e(st.forget(C.as_bytes(), START)),
        Err("ERR Can't forget my master!".into())
    );
    // The header of what it sends names its master and carries its slots.
    let h = st.build_header();
    assert_eq!(h.slaveof.map(|n| n.to_string()), Some(C.to_string()));
    assert!(NodeFlags::from_wire(h.flags).contains(NodeFlags::SLAVE));
}

#[test]
fn count_failure_reports_and_links() {
    let mut net = cluster(3, 15);
    net.run(2_000);
    let now = net.now;
    let b = net.id(1);
    let st = net.st_mut(0);
    assert_eq!(
        st.count_failure_reports(b.as_bytes(), now),
        Ok(Reply::Int(0))
    );
    assert_eq!(
        st.count_failure_reports(b"x", now)
            .map_err(|e| e.to_string()),
        Err("ERR Unknown node x".into())
    );
    let Reply::Array(links) = st.links_reply() else {
        panic!("not an array")
    };
    assert_eq!(links.len(), 4);
    let mut dirs = Vec::new();
    for l in &links {
        let Reply::Map(fields) = l else {
            panic!("not a map")
        };
        let keys: Vec<String> = fields
            .iter()
            .map(|(k, _)| match k {
                Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("key {other:?}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "direction",
                "node",
                "create-time",
                "events",
                "send-buffer-allocated",
                "send-buffer-used"
            ]
        );
        if let (Reply::Bulk(d), Reply::Int(t)) = (&fields[0].1, &fields[2].1) {
            dirs.push(String::from_utf8_lossy(d).into_owned());
            assert!(*t as u64 >= START);
        }
    }
    dirs.sort();
    assert_eq!(dirs, ["from", "from", "to", "to"]);
}

#[test]
fn failure_reports_expire_after_twice_the_timeout() {
    let mut net = cluster(5, 16);
    net.run(2_000);
    // Cut node 4 from node 0 only: node 0 alone suspects it, and reports
    // of it from others never come.
    net.partition(&[0], &[4]);
    let d = net.id(4);
    let deadline = net.now + 20_000;
    assert!(net.run_until(deadline, |n| n
        .st(0)
        .node(&d)
        .is_some_and(|x| x.flags.contains(NodeFlags::PFAIL))));
    net.run(10_000);
    // A minority view does not make FAIL.
    assert!(!net.st(0).node(&d).is_some_and(|x| x.is_failed()));
    assert!(!net.flags_everywhere(4, NodeFlags::FAIL, &[]));
    // Node 1 hears node 0's suspicion (PFAIL gossip); node 0 is a master,
    // so node 1 records a report, which lapses once node 0 is healed.
    let now = net.now;
    let reports = net.st_mut(1).count_failure_reports(d.as_bytes(), now);
    assert!(matches!(reports, Ok(Reply::Int(n)) if n <= 1));
    net.heal();
    net.run(3 * TIMEOUT);
    let now = net.now;
    assert_eq!(
        net.st_mut(1).count_failure_reports(d.as_bytes(), now),
        Ok(Reply::Int(0))
    );
    assert!(net
        .st(0)
        .node(&d)
        .is_some_and(|x| !x.flags.intersects(NodeFlags::PFAIL | NodeFlags::FAIL)));
}

#[test]
fn masters_vote_for_a_replica_of_a_failed_master() {
    let mut net = three_masters_and_a_spare(17);
    let a = net.id(0);
    net.st_mut(3).replicate(&a).expect("replicate");
    net.run(5_000);
    net.stop(0);
    let deadline = net.now + 30_000;
    assert!(net.run_until(deadline, |n| n.flags_everywhere(0, NodeFlags::FAIL, &[0])));

    // Node 3 (replica of the failed A) asks node 1 for its vote.
    let r = net.id(3);
    let link = net
        .st(1)
        .node(&r)
        .and_then(|n| n.inbound_link)
        .expect("inbound link from the replica");
    let out_link = net
        .st(1)
        .node(&r)
        .and_then(|n| n.link)
        .expect("link to the replica");
    let mut header = net.st(3).build_header();
    header.current_epoch = net.st(1).current_epoch() + 1;
    let request = Bytes::from(msg::encode(&Message {
        header: header.clone(),
        body: Body::FailoverAuthRequest,
    }));
    let now = net.now;
    let out = net.st_mut(1).bus_receive(link, &request, now);
    let acks: Vec<&BusAction> = out
        .iter()
        .filter(|a| match a {
            BusAction::Send { link, msg } => {
                *link == out_link && msg::decode(msg).is_ok_and(|m| m.body == Body::FailoverAuthAck)
            }
            _ => false,
        })
        .collect();
    assert_eq!(acks.len(), 1, "{out:?}");
    assert_eq!(net.st(1).last_vote_epoch(), header.current_epoch);
    assert!(net.st_mut(1).take_todo().fsync_config);
    // Once per epoch.
    let out = net.st_mut(1).bus_receive(link, &request, now);
    assert!(!out.iter().any(|a| matches!(a, BusAction::Send { .. })));
}

// ----- single messages -------------------------------------------------

/// A fresh node that accepted a link from 10.0.0.9, its local address
/// 10.0.0.1.
fn accepting() -> (ClusterState, LinkId) {
    let mut st = ClusterState::with_id(test_id(0), 7000, 17000);
    st.node_timeout_ms = TIMEOUT;
    let link = st.bus_inbound_link(START);
    st.bus_link_addrs(link, "10.0.0.1", "10.0.0.9");
    (st, link)
}

const REDIS_FRAMES: &str = include_str!("testdata/redis-7.0.15-frames.txt");

fn redis_frame(n: usize) -> Vec<u8> {
    let line = REDIS_FRAMES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .nth(n)
        .expect("frame");
    let hex = line.split_once(' ').expect("line").1;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn a_meet_from_redis_adds_a_handshake_node_and_gets_a_pong() {
    let (mut st, link) = accepting();
    let out = st.bus_receive(link, &redis_frame(0), START);
    // Our address, learned from the link's local end.
    assert_eq!(st.myself().ip, "10.0.0.1");
    assert!(st.take_todo().save_config);
    let h = st.others().first().expect("handshake node");
    assert!(h.in_handshake());
    assert_eq!((h.ip.as_str(), h.port, h.cport), ("10.0.0.9", 7301, 17301));
    // The PONG, on the same link.
    let [BusAction::Send { link: l, msg }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(*l, link);
    let pong = msg::decode(msg).expect("pong");
    assert!(matches!(pong.body, Body::Pong(_)));
    assert_eq!(pong.header.sender, st.my_id());
    assert_eq!((pong.header.port, pong.header.cport), (7000, 17000));
    assert_eq!(pong.header.state, 1);
    assert_eq!(st.stats.received[msg::TYPE_MEET as usize], 1);
    assert_eq!(st.stats.sent[msg::TYPE_PONG as usize], 1);
    // The epochs of an unknown sender are not taken.
    assert_eq!(st.current_epoch(), 0);
    // The next cron connects to it.
    let out = st.bus_cron(START + 100);
    assert!(matches!(
        out.as_slice(),
        [BusAction::Connect { ip, cport: 17301, .. }] if ip == "10.0.0.9"
    ));
}

#[test]
fn gossip_and_hostname_from_a_known_redis_node() {
    // The receiving side of the captured cluster: node B knows A.
    let a = NodeId::parse(b"19e3670cf05ba2b3fe05d26c7fce46c6366664b8").expect("id");
    let text = format!(
        "{a} 127.0.0.1:7301@17301 master - 0 0 0 connected\n\
         108ed0dbd2a38d905f537ecfcc55ab5a1a085d10 127.0.0.1:7302@17399 myself,master - 0 0 0 connected\n\
         vars currentEpoch 0 lastVoteEpoch 0\n"
    );
    let mut st =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("conf")).expect("state");
    st.node_timeout_ms = TIMEOUT;
    let _ = st.take_todo();
    let link = st.bus_inbound_link(START);
    st.bus_link_addrs(link, "127.0.0.1", "127.0.0.1");
    let now = 1_795_334_690_000;
    let out = st.bus_receive(link, &redis_frame(1), now);
    assert!(out.iter().any(|a| matches!(a, BusAction::Send { .. })));
    let node_a = st.node(&a).expect("A");
    assert_eq!(node_a.hostname, "host-a.example");
    assert_eq!(node_a.config_epoch, 3);
    assert_eq!(node_a.inbound_link, Some(link));
    assert_eq!(node_a.slots.count(), 5);
    assert_eq!(st.current_epoch(), 3);
    assert_eq!(st.slot_owner(100).map(|n| n.id), Some(a));
    // Slots of another node changed: topology stale, config saved.
    let t = st.take_todo();
    assert!(t.save_config && t.fsync_config && !t.slots_changed);
    // Gossip about C, from a known master: C is added.
    let c = NodeId::parse(b"d8127c002bebd863787d1d766062c1f2bfefb4c1").expect("id");
    let node_c = st.node(&c).expect("C added from gossip");
    assert_eq!((node_c.port, node_c.cport), (7303, 17303));
    assert!(node_c.is_master());
    assert!(st
        .nodes_text()
        .contains("127.0.0.1:7301@17301,host-a.example master"));
    // Then the FAIL about C from A: C is flagged.
    st.bus_receive(link, &redis_frame(4), now);
    assert!(st.node(&c).is_some_and(|n| n.is_failed()));
    // And the PUBLISH is delivered.
    let out = st.bus_receive(link, &redis_frame(5), now);
    assert_eq!(
        out,
        vec![BusAction::Deliver {
            channel: b"chan".to_vec(),
            message: b"hello".to_vec(),
            shard: false
        }]
    );
}

#[test]
fn garbage_frames_close_or_are_dropped_never_panic() {
    let mut net = cluster(3, 18);
    net.run(1_000);
    // Frames the nodes really send.
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let now = net.now;
    let out = net.st_mut(0).bus_cron(now);
    frames.extend(out.iter().filter_map(|a| match a {
        BusAction::Send { msg, .. } => Some(msg.to_vec()),
        _ => None,
    }));
    let out = net.st_mut(1).bus_publish(b"chan", b"payload", false);
    frames.extend(out.iter().filter_map(|a| match a {
        BusAction::Send { msg, .. } => Some(msg.to_vec()),
        _ => None,
    }));
    frames.push(redis_frame(1));
    frames.push(redis_frame(4));
    let sample = net.st(2).build_header();
    frames.push(msg::encode(&Message {
        header: sample.clone(),
        body: Body::Update {
            config_epoch: 99,
            node: net.id(1),
            slots: SlotSet::from_ranges(&[(0, 10)]),
        },
    }));
    frames.push(msg::encode(&Message {
        header: sample,
        body: Body::Fail { node: net.id(1) },
    }));
    assert!(frames.len() >= 5);

    // Wrong signature: the link closes.
    let (mut st, link) = accepting();
    let mut bad = frames[0].clone();
    bad[0] = b'X';
    assert_eq!(
        st.bus_receive(link, &bad, START),
        vec![BusAction::Close { link }]
    );
    assert!(st.bus_links().next().is_none());
    // Truncated: the link closes too.
    let (mut st, link) = accepting();
    let cut = &frames[0][..100];
    assert_eq!(
        st.bus_receive(link, cut, START),
        vec![BusAction::Close { link }]
    );
    // Wrong version: dropped, the link stays.
    let (mut st, link) = accepting();
    let mut v = frames[0].clone();
    v[9] = 2;
    assert!(st.bus_receive(link, &v, START).is_empty());
    assert_eq!(st.bus_links().count(), 1);
    // Unknown links are ignored.
    assert!(st.bus_receive(999, &frames[0], START).is_empty());

    // Mutations, fed to a node in the running cluster: no panic, and the
    // cluster still works afterwards.
    let mut seed = 0x1234_5678_u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let now = net.now;
    let mut closed = 0;
    let mut victim = net.st(2).clone();
    for round in 0..1500 {
        let base = &frames[round % frames.len()];
        let mut f = base.clone();
        match next() % 5 {
            0 => {
                for _ in 0..1 + next() % 4 {
                    let i = next() % f.len();
                    f[i] ^= 1 << (next() % 8);
                }
            }
            1 => {
                let hot = [4usize, 5, 6, 7, 9, 12, 13, 14, 15, 2214, 2215, 2253];
                f[hot[next() % hot.len()]] = next() as u8;
            }
            2 => f.truncate(next() % f.len()),
            3 => {
                let i = msg::HEADER_LEN + next() % (f.len() - msg::HEADER_LEN).max(1);
                if i < f.len() {
                    f[i] = next() as u8;
                }
            }
            _ => {
                f.extend((0..next() % 200).map(|_| next() as u8));
                let len = f.len() as u32;
                f[4..8].copy_from_slice(&len.to_be_bytes());
            }
        }
        let st = &mut victim;
        let link = st.bus_inbound_link(now);
        st.bus_link_addrs(link, "10.0.0.3", "10.0.0.77");
        let out = st.bus_receive(link, &f, now);
        if out.contains(&BusAction::Close { link }) {
            closed += 1;
        } else {
            st.bus_link_closed(link, now);
        }
        let _ = st.take_todo();
    }
    assert!(closed > 100, "{closed}");
    // Some mutations were valid messages that changed its view; it still
    // runs, and its nodes.conf still loads.
    let _ = victim.bus_cron(now + 100);
    let _ = victim.nodes_text();
    let text = victim.nodes_conf_text();
    let conf = NodesConf::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(ClusterState::from_conf(conf).is_ok());
}

#[test]
fn reset_closes_the_links() {
    let mut net = cluster(3, 19);
    // Unidentified inbound links stay, as in Redis.
    let n_links = net
        .st(0)
        .bus_links()
        .filter(|(_, l)| l.node.is_some())
        .count();
    assert!(n_links >= 2);
    net.st_mut(0).reset(ResetMode::Soft);
    let out = net.st_mut(0).take_bus_actions();
    let closes = out
        .iter()
        .filter(|a| matches!(a, BusAction::Close { .. }))
        .count();
    assert_eq!(closes, n_links);
    assert!(net.st(0).bus_links().all(|(_, l)| l.node.is_none()));
    net.apply(0, out);
    net.run(1_000);
    assert!(net.st(0).others().is_empty());
}

#[test]
fn announced_ip_and_hostname_go_in_every_header() {
    let mut net = Net::new(2, 20);
    net.st_mut(0).set_announce_ip(Some("192.0.2.10"));
    net.st_mut(0).set_my_hostname("node-a.example");
    assert_eq!(net.st(0).myself().ip, "192.0.2.10");
    net.nodes[0].ip = "192.0.2.10".into();
    net.meet(1, 0);
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, Net::converged));
    let a = net.id(0);
    let seen = net.st(1).node(&a).expect("a");
    assert_eq!(seen.ip, "192.0.2.10");
    assert_eq!(seen.hostname, "node-a.example");
    // Not replaced by what the MEET's socket said.
    assert_eq!(net.st(0).myself().ip, "192.0.2.10");
    // Hostname removed: the extension stops, and the peer forgets it.
    net.st_mut(0).set_my_hostname("");
    net.run(3_000);
    assert_eq!(
        net.st(1).node(&a).map(|n| n.hostname.clone()),
        Some(String::new())
    );
}

#[test]
fn meeting_a_known_node_again_drops_the_handshake() {
    let mut net = cluster(2, 21);
    net.run(1_000);
    net.meet(0, 1);
    assert_eq!(net.st(0).others().len(), 2);
    let deadline = net.now + 5_000;
    assert!(net.run_until(deadline, |n| n.st(0).others().len() == 1));
    assert_eq!(net.st(0).others()[0].id, net.id(1));
    net.run(2_000);
    assert!(net.converged());
}

#[test]
fn a_different_node_at_a_known_address_gets_noaddr() {
    let mut net = cluster(2, 22);
    net.run(1_000);
    let old = net.id(1);
    // Node 1 restarts with a hard reset: a new id at the same address.
    net.stop(1);
    net.restart(1);
    net.st_mut(1).reset(ResetMode::Hard);
    let _ = net.st_mut(1).take_bus_actions();
    let deadline = net.now + 10_000;
    assert!(net.run_until(deadline, |n| n
        .st(0)
        .node(&old)
        .is_some_and(|x| x.flags.contains(NodeFlags::NOADDR))));
    let o = net.st(0).node(&old).expect("kept");
    assert_eq!((o.ip.as_str(), o.port, o.cport), ("", 0, 0));
    assert!(o.link.is_none());
    // No address, no reconnection.
    net.run(3_000);
    assert!(net.st(0).node(&old).is_some_and(|x| x.link.is_none()));
}
