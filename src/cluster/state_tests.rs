//! Tests of `ClusterState` against what redis-server 7.0.15 answered to the
//! same commands (captured with redis-cli and raw sockets).

use super::*;
use crate::cluster::nodes_conf::NodesConf;

const ID: &str = "820adec62c48ad66bf742ebce8c39e98d8057670";

fn id(s: &str) -> NodeId {
    NodeId::parse(s.as_bytes()).unwrap_or_else(|| panic!("bad test id {s}"))
}

fn lone() -> ClusterState {
    ClusterState::with_id(id(ID), 17001, 27001)
}

fn args(line: &str) -> Vec<&[u8]> {
    line.split_ascii_whitespace().map(str::as_bytes).collect()
}

fn err_text(r: Result<(), ClusterError>) -> String {
    match r {
        Ok(()) => "OK".into(),
        Err(e) => e.to_string(),
    }
}

/// The server's own encoder, to compare with the bytes redis-server sent.
fn encode(r: &Reply, resp3: bool, out: &mut Vec<u8>) {
    let proto = if resp3 {
        crate::protocol::Proto::Resp3
    } else {
        crate::protocol::Proto::Resp2
    };
    crate::protocol::encode(r, proto, out);
}

fn resp(r: &Reply, resp3: bool) -> String {
    let mut out = Vec::new();
    encode(r, resp3, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("utf8: {e}"))
}

#[test]
fn fresh_node() {
    let st = ClusterState::new(7000, 17000);
    assert_eq!(st.my_id().as_str().len(), 40);
    assert!(st.myself().is_myself() && st.myself().is_master());
    assert_eq!(
        (st.current_epoch(), st.last_vote_epoch(), st.config_epoch()),
        (0, 0, 0)
    );
    assert_ne!(st.my_id(), ClusterState::new(7000, 17000).my_id());

    let st = lone();
    // redis-server 7.0.15, just started.
    assert_eq!(
        st.info_text(),
        "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n\
         cluster_size:1\r\ncluster_current_epoch:0\r\ncluster_my_epoch:0\r\n\
         cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n"
    );
    assert_eq!(
        st.nodes_text(),
        format!("{ID} :17001@27001 myself,master - 0 0 0 connected\n")
    );
    assert_eq!(resp(&st.myid_reply(), false), format!("$40\r\n{ID}\r\n"));
    assert_eq!(resp(&st.slots_reply(0), false), "*0\r\n");
    assert_eq!(
        resp(&st.shards_reply(0), false),
        format!(
            "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\n{ID}\r\n\
             $4\r\nport\r\n:17001\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n$0\r\n\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
        )
    );
    assert_eq!(
        st.nodes_conf_text(),
        format!("{ID} :17001@27001 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n")
    );
}

/// The session replayed against redis-server 7.0.15, reply for reply.
#[test]
fn slot_commands_match_redis() {
    let mut st = lone();
    assert_eq!(err_text(st.add_slots(&args("5 6 7"))), "OK");
    let session: &[(&str, &str, &str)] = &[
        (
            "add",
            "",
            "ERR wrong number of arguments for 'cluster|addslots' command",
        ),
        ("add", "5", "ERR Slot 5 is already busy"),
        ("add", "16384", "ERR Invalid or out of range slot"),
        ("add", "-1", "ERR Invalid or out of range slot"),
        ("add", "abc", "ERR Invalid or out of range slot"),
        ("add", "9 9", "ERR Slot 9 specified multiple times"),
        ("add", "8 9 9", "ERR Slot 9 specified multiple times"),
        ("add", "1.0", "ERR Invalid or out of range slot"),
        ("add", "007", "ERR Invalid or out of range slot"),
        ("add", "+8", "ERR Invalid or out of range slot"),
        ("add", "8 5", "ERR Slot 5 is already busy"),
        ("add", "8 x", "ERR Invalid or out of range slot"),
        (
            "addr",
            "1",
            "ERR wrong number of arguments for 'cluster|addslotsrange' command",
        ),
        (
            "addr",
            "",
            "ERR wrong number of arguments for 'cluster|addslotsrange' command",
        ),
        (
            "addr",
            "1 2 3",
            "ERR wrong number of arguments for 'cluster|addslotsrange' command",
        ),
        (
            "addr",
            "10 5",
            "ERR start slot number 10 is greater than end slot number 5",
        ),
        ("addr", "5 8", "ERR Slot 5 is already busy"),
        ("addr", "5 8 x 3", "ERR Slot 5 is already busy"),
        ("addr", "8 9 9 10", "ERR Slot 9 specified multiple times"),
        (
            "addr",
            "8 9 11 12 11 11",
            "ERR Slot 11 specified multiple times",
        ),
        ("addr", "0 16384", "ERR Invalid or out of range slot"),
        ("addr", "x 3", "ERR Invalid or out of range slot"),
        (
            "del",
            "",
            "ERR wrong number of arguments for 'cluster|delslots' command",
        ),
        ("del", "50", "ERR Slot 50 is already unassigned"),
        ("del", "5 5", "ERR Slot 5 specified multiple times"),
        ("del", "16384", "ERR Invalid or out of range slot"),
        (
            "delr",
            "1",
            "ERR wrong number of arguments for 'cluster|delslotsrange' command",
        ),
        ("delr", "50 60", "ERR Slot 50 is already unassigned"),
        (
            "delr",
            "60 50",
            "ERR start slot number 60 is greater than end slot number 50",
        ),
        ("delr", "5 7 5 5", "ERR Slot 5 specified multiple times"),
        ("delr", "5 7 6 6", "ERR Slot 6 specified multiple times"),
    ];
    let before = st.my_slots().clone();
    for &(cmd, line, expected) in session {
        let a = args(line);
        let got = match cmd {
            "add" => st.add_slots(&a),
            "addr" => st.add_slots_range(&a),
            "del" => st.del_slots(&a),
            _ => st.del_slots_range(&a),
        };
        assert_eq!(err_text(got), expected, "{cmd} {line}");
        // A failed command changes nothing.
        assert_eq!(st.my_slots(), &before, "{cmd} {line}");
    }
    assert_eq!(
        err_text(st.add_slots_range(&args("100 200 1000 1000"))),
        "OK"
    );
    assert_eq!(
        st.nodes_text(),
        format!("{ID} :17001@27001 myself,master - 0 0 0 connected 5-7 100-200 1000\n")
    );
    // A lone node's config epoch stays 0 when it takes slots.
    assert_eq!(st.config_epoch(), 0);

    assert_eq!(err_text(st.del_slots(&args("6 1000"))), "OK");
    assert_eq!(err_text(st.del_slots_range(&args("150 200 101 101"))), "OK");
    assert_eq!(
        st.my_slots().ranges().collect::<Vec<_>>(),
        vec![(5, 5), (7, 7), (100, 100), (102, 149)]
    );
    // Errors convert to replies with the same text.
    assert_eq!(
        ClusterError::SlotBusy(5).to_reply(),
        Reply::err_owned("ERR Slot 5 is already busy".into())
    );
    assert_eq!(
        ClusterError::InvalidSlot.to_reply(),
        Reply::err("ERR Invalid or out of range slot")
    );
}

#[test]
fn slots_and_info_replies_match_redis_bytes() {
    let mut st = lone();
    st.add_slots(&args("5 6 7")).expect("add");
    st.add_slots_range(&args("100 200 1000 1000")).expect("add");
    let node = format!("*4\r\n$0\r\n\r\n:17001\r\n$40\r\n{ID}\r\n");
    assert_eq!(
        resp(&st.slots_reply(0), false),
        format!(
            "*3\r\n*3\r\n:5\r\n:7\r\n{node}*0\r\n*3\r\n:100\r\n:200\r\n{node}*0\r\n*3\r\n:1000\r\n:1000\r\n{node}*0\r\n"
        )
    );
    assert_eq!(
        resp(&st.slots_reply(0), true),
        format!(
            "*3\r\n*3\r\n:5\r\n:7\r\n{node}%0\r\n*3\r\n:100\r\n:200\r\n{node}%0\r\n*3\r\n:1000\r\n:1000\r\n{node}%0\r\n"
        )
    );
    let shard_node = format!(
        "$2\r\nid\r\n$40\r\n{ID}\r\n$4\r\nport\r\n:17001\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n$0\r\n\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    );
    let slots = "$5\r\nslots\r\n*6\r\n:5\r\n:7\r\n:100\r\n:200\r\n:1000\r\n:1000\r\n";
    assert_eq!(
        resp(&st.shards_reply(0), false),
        format!("*1\r\n*4\r\n{slots}$5\r\nnodes\r\n*1\r\n*14\r\n{shard_node}")
    );
    assert_eq!(
        resp(&st.shards_reply(0), true),
        format!("*1\r\n%2\r\n{slots}$5\r\nnodes\r\n*1\r\n%7\r\n{shard_node}")
    );
    // Two seconds after start, RESP3.
    st.update_state(0);
    st.update_state(2000);
    assert_eq!(
        resp(&st.info_reply(), true),
        "=314\r\ntxt:cluster_state:fail\r\ncluster_slots_assigned:105\r\ncluster_slots_ok:105\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\n\
         cluster_current_epoch:0\r\ncluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\n\
         cluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n\r\n"
    );
    assert_eq!(
        resp(&st.nodes_reply(), true),
        format!(
            "=107\r\ntxt:{ID} :17001@27001 myself,master - 0 0 0 connected 5-7 100-200 1000\n\r\n"
        )
    );
}

#[test]
fn endpoint_types_match_redis() {
    let mut st = lone();
    st.add_slots(&args("5 6 7")).expect("add");
    st.set_my_hostname("host.example");
    assert_eq!(
        st.nodes_text(),
        format!("{ID} :17001@27001,host.example myself,master - 0 0 0 connected 5-7\n")
    );
    let head = "*1\r\n*3\r\n:5\r\n:7\r\n";
    let cases: &[(EndpointType, &str, &str, &str)] = &[
        (
            EndpointType::Ip,
            "$0\r\n\r\n",
            "*2\r\n$8\r\nhostname\r\n$12\r\nhost.example\r\n",
            "$0\r\n\r\n",
        ),
        (
            EndpointType::Hostname,
            "$12\r\nhost.example\r\n",
            "*2\r\n$2\r\nip\r\n$0\r\n\r\n",
            "$12\r\nhost.example\r\n",
        ),
        (
            EndpointType::UnknownEndpoint,
            "$-1\r\n",
            "*4\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nhostname\r\n$12\r\nhost.example\r\n",
            "$0\r\n\r\n",
        ),
    ];
    for &(ep, preferred, meta, shard_endpoint) in cases {
        st.preferred_endpoint = ep;
        assert_eq!(
            resp(&st.slots_reply(0), false),
            format!("{head}*4\r\n{preferred}:17001\r\n$40\r\n{ID}\r\n{meta}"),
            "{ep:?}"
        );
        assert_eq!(
            resp(&st.shards_reply(0), false),
            format!(
                "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5\r\n:7\r\n$5\r\nnodes\r\n*1\r\n*16\r\n$2\r\nid\r\n$40\r\n{ID}\r\n\
                 $4\r\nport\r\n:17001\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n{shard_endpoint}\
                 $8\r\nhostname\r\n$12\r\nhost.example\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
                 $18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
            ),
            "{ep:?}"
        );
    }
    // No hostname.
    st.set_my_hostname("");
    let cases: &[(EndpointType, &str, &str, &str)] = &[
        (
            EndpointType::Hostname,
            "$1\r\n?\r\n",
            "*2\r\n$2\r\nip\r\n$0\r\n\r\n",
            "$1\r\n?\r\n",
        ),
        (
            EndpointType::UnknownEndpoint,
            "$-1\r\n",
            "*2\r\n$2\r\nip\r\n$0\r\n\r\n",
            "$0\r\n\r\n",
        ),
    ];
    for &(ep, preferred, meta, shard_endpoint) in cases {
        st.preferred_endpoint = ep;
        assert_eq!(
            resp(&st.slots_reply(0), false),
            format!("{head}*4\r\n{preferred}:17001\r\n$40\r\n{ID}\r\n{meta}"),
            "{ep:?}"
        );
        assert!(
            resp(&st.shards_reply(0), false)
                .contains(&format!("$8\r\nendpoint\r\n{shard_endpoint}$4\r\nrole")),
            "{ep:?}"
        );
    }
}

#[test]
fn reset_matches_redis() {
    let parse =
        |typed: &str, line: &str| match ClusterState::parse_reset(typed.as_bytes(), &args(line)) {
            Ok(mode) => format!("{mode:?}"),
            Err(e) => e.to_string(),
        };
    assert_eq!(parse("reset", ""), "Soft");
    assert_eq!(parse("reset", "HARD"), "Hard");
    assert_eq!(parse("reset", "soft"), "Soft");
    assert_eq!(parse("reset", "foo"), "ERR syntax error");
    assert_eq!(
        parse("RESET", "hard soft"),
        "ERR unknown subcommand or wrong number of arguments for 'RESET'. Try CLUSTER HELP."
    );
    assert_eq!(
        ClusterError::subcommand_syntax(b"re\r\nset").to_string(),
        "ERR unknown subcommand or wrong number of arguments for 're  set'. Try CLUSTER HELP."
    );
    assert_eq!(
        ClusterError::subcommand_syntax(&[b'x'; 300])
            .to_string()
            .matches('x')
            .count(),
        128
    );

    let mut st = lone();
    st.add_slots_range(&args("0 16383")).expect("add");
    st.set_config_epoch(&args("7")).expect("epoch");
    st.take_todo();
    let out = st.reset(ResetMode::Soft);
    assert!(!out.was_replica);
    assert_eq!(st.my_id(), id(ID));
    assert!(st.my_slots().is_empty());
    assert_eq!((st.current_epoch(), st.config_epoch()), (7, 7));
    assert_eq!(
        st.nodes_text(),
        format!("{ID} :17001@27001 myself,master - 0 0 7 connected\n")
    );
    let todo = st.take_todo();
    assert!(todo.save_config && todo.fsync_config && todo.update_state && todo.slots_changed);

    st.add_slots(&args("1")).expect("add");
    st.reset(ResetMode::Hard);
    assert_ne!(st.my_id(), id(ID));
    assert_eq!(
        (st.current_epoch(), st.last_vote_epoch(), st.config_epoch()),
        (0, 0, 0)
    );
    assert!(st.my_slots().is_empty());
}

#[test]
fn epochs_match_redis() {
    let mut st = lone();
    assert_eq!(st.bump_epoch(), Reply::Simple("BUMPED 1".into()));
    assert_eq!(st.bump_epoch(), Reply::Simple("STILL 1".into()));
    assert_eq!(
        err_text(st.set_config_epoch(&args("5"))),
        "ERR Node config epoch is already non-zero"
    );
    st.reset(ResetMode::Hard);
    assert_eq!(
        err_text(st.set_config_epoch(&args("-1"))),
        "ERR Invalid config epoch specified: -1"
    );
    for bad in ["x", "99999999999999999999", "007", "-0", "+7", "7 "] {
        assert_eq!(
            err_text(st.set_config_epoch(&[bad.as_bytes()])),
            "ERR value is not an integer or out of range",
            "{bad:?}"
        );
    }
    assert_eq!(
        err_text(st.set_config_epoch::<&[u8]>(&[])),
        "ERR wrong number of arguments for 'cluster|set-config-epoch' command"
    );
    assert_eq!(err_text(st.set_config_epoch(&args("7"))), "OK");
    assert_eq!(st.bump_epoch(), Reply::Simple("STILL 7".into()));
    assert_eq!((st.current_epoch(), st.config_epoch()), (7, 7));
    st.update_state(0);
    st.update_state(2000);
    let info = st.info_text();
    assert!(info.contains("cluster_size:0\r\ncluster_current_epoch:7\r\ncluster_my_epoch:7\r\n"));
    assert_eq!(
        err_text(st.set_config_epoch(&args("8"))),
        "ERR Node config epoch is already non-zero"
    );

    // A node that knows others refuses.
    let conf = NodesConf::parse(MULTI.as_bytes()).expect("parse");
    let mut multi = ClusterState::from_conf(conf).expect("state");
    assert_eq!(
        err_text(multi.set_config_epoch(&args("9"))),
        "ERR The user can assign a config epoch only when the node does not know any other node."
    );
    // Not the greatest epoch (1 < 4): bump to currentEpoch + 1.
    assert_eq!(multi.bump_epoch(), Reply::Simple("BUMPED 5".into()));
    assert_eq!(multi.current_epoch(), 5);
}

/// redis-server 7.0.15: fresh node, all slots added 3 s after start: the
/// state turned ok about 5 s later (the rejoin delay); after a restart with
/// all slots, 2 s after start (the writable delay).
#[test]
fn state_follows_redis_delays() {
    let mut st = lone();
    let mut t = 0;
    let mut ok_at = None;
    while t <= 20_000 {
        if t == 3000 {
            st.add_slots_range(&args("0 16383")).expect("add");
        }
        if st.take_todo().update_state || !st.is_ok() {
            st.update_state(t);
        }
        if st.is_ok() && ok_at.is_none() {
            ok_at = Some(t);
        }
        if t == 2500 {
            assert_eq!(st.size(), 0);
        }
        t += 100;
    }
    let ok_at = ok_at.expect("turns ok");
    // Last minority check at 2900, rejoin delay 5000 ms.
    assert_eq!(ok_at, 7900);
    assert_eq!(st.size(), 1);
    assert!(st.info_text().starts_with(
        "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
    ));

    // Restart from the saved file.
    let conf = NodesConf::parse(st.nodes_conf_text().as_bytes()).expect("parse");
    let mut st = ClusterState::from_conf(conf).expect("state");
    assert_eq!(st.size(), 1);
    let start = 1_700_000_000_000u64;
    for step in 0..=30 {
        st.update_state(start + step * 100);
        assert_eq!(st.is_ok(), step >= 20, "step {step}");
    }

    // Losing a slot fails at once; getting it back waits for no delay
    // because the node was never in a minority.
    st.del_slots(&args("0")).expect("del");
    st.update_state(start + 5000);
    assert_eq!(st.health(), Health::Fail);
    st.add_slots(&args("0")).expect("add");
    st.update_state(start + 5100);
    assert_eq!(st.health(), Health::Ok);

    // Without full coverage a lone node serving some slots is ok.
    let mut st = lone();
    st.require_full_coverage = false;
    st.add_slots(&args("1")).expect("add");
    st.update_state(0);
    st.update_state(2000);
    assert!(st.is_ok());
}

/// Written by redis-server 7.0.15 (port 17002 of a 4-master cluster with
/// one replica, one master failed, slot 100 migrating).
const MULTI: &str = "\
97d0ead4e5c58e115da6c7f4f3395ce8886c9075 127.0.0.1:17005@27005 master,fail - 1795316857131 1795316856629 4 disconnected 12288-16383
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:17003@27003 master - 0 1795316857936 2 connected 4096-8191
a056d55eb2e64e5b0da5faf92997b027a936d969 127.0.0.1:17004@27004 master - 0 1795316858136 3 connected 8192-12287
c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316857936 1 connected
67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:17002@27002 myself,master - 0 1795316857000 1 connected 0-4095 [100->-7bf4058ae0586508ce678e72cd5c948ea3e8ded0]
vars currentEpoch 4 lastVoteEpoch 0
";

/// The replica's file of the same cluster.
const REPLICA: &str = "\
c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 myself,slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316857000 1 connected
a056d55eb2e64e5b0da5faf92997b027a936d969 127.0.0.1:17004@27004 master - 0 1795316857732 3 connected 8192-12287
97d0ead4e5c58e115da6c7f4f3395ce8886c9075 127.0.0.1:17005@27005 master,fail - 1795316856725 1795316856222 4 disconnected 12288-16383
67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:17002@27002 master - 0 1795316857732 1 connected 0-4095
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:17003@27003 master - 0 1795316857732 2 connected 4096-8191
vars currentEpoch 4 lastVoteEpoch 0
";

#[test]
fn multi_node_conf_gives_redis_info() {
    let conf = NodesConf::parse(MULTI.as_bytes()).expect("parse");
    let mut st = ClusterState::from_conf(conf).expect("state");
    st.stats.sent = [147, 150, 0, 3, 4, 0, 0, 0, 0, 0, 0];
    st.stats.received = [146, 146, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    st.update_state(0);
    st.update_state(2000);
    // CLUSTER INFO of that node, at that time.
    assert_eq!(
        st.info_text(),
        "cluster_state:fail\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:12288\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:4096\r\ncluster_known_nodes:5\r\n\
         cluster_size:4\r\ncluster_current_epoch:4\r\ncluster_my_epoch:1\r\n\
         cluster_stats_messages_ping_sent:147\r\ncluster_stats_messages_pong_sent:150\r\n\
         cluster_stats_messages_fail_sent:3\r\ncluster_stats_messages_publish_sent:4\r\n\
         cluster_stats_messages_sent:304\r\ncluster_stats_messages_ping_received:146\r\n\
         cluster_stats_messages_pong_received:146\r\ncluster_stats_messages_meet_received:4\r\n\
         cluster_stats_messages_received:296\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"
    );
    assert_eq!(st.my_slots().ranges().collect::<Vec<_>>(), vec![(0, 4095)]);
    assert_eq!(st.slot_owner(5000).map(|n| n.port), Some(17003),);
    assert!(st
        .nodes_text()
        .starts_with("67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:17002@27002 myself,master - 0 1795316857000 1 connected 0-4095 [100->-7bf4058ae0586508ce678e72cd5c948ea3e8ded0]\n"));
    assert!(st
        .nodes_text()
        .contains("c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316857936 1 disconnected\n"));

    // SLOTS: runs in slot order; the replica reports offset 0, so it is left
    // out, as redis-server did; once it has an offset it follows its master.
    let slot_entries = |st: &ClusterState| {
        let Reply::Array(entries) = st.slots_reply(0) else {
            panic!("array")
        };
        entries
            .iter()
            .map(|e| match e {
                Reply::Array(items) => (items.first().cloned(), items.len()),
                _ => panic!("entry"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        slot_entries(&st),
        vec![
            (Some(Reply::Int(0)), 3),
            (Some(Reply::Int(4096)), 3),
            (Some(Reply::Int(8192)), 3),
            (Some(Reply::Int(12288)), 3)
        ]
    );
    let mut synced = st.clone();
    synced.others.iter_mut().for_each(|n| n.repl_offset = 14);
    assert_eq!(
        slot_entries(&synced).first(),
        Some(&(Some(Reply::Int(0)), 4))
    );

    // SHARDS: one per master; the replica (offset 0) is loading.
    let Reply::Array(shards) = st.shards_reply(14) else {
        panic!("array")
    };
    assert_eq!(shards.len(), 4);
    let text = resp(&st.shards_reply(14), false);
    assert!(text.contains("$18\r\nreplication-offset\r\n:14\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"));
    assert!(text.contains("$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n"));
    assert!(text.contains("$6\r\nhealth\r\n$4\r\nfail\r\n"));

    // DELSLOTS of another node's slot is allowed, as in Redis.
    st.del_slots(&args("5000")).expect("del");
    assert!(st.slot_owner(5000).is_none());

    // Saved and loaded again, the text is stable.
    let text = st.nodes_conf_text();
    let again =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("parse")).expect("state");
    assert_eq!(again.nodes_conf_text(), text);
}

#[test]
fn replica_conf_and_reset() {
    let conf = NodesConf::parse(REPLICA.as_bytes()).expect("parse");
    let mut st = ClusterState::from_conf(conf).expect("state");
    assert!(st.myself().is_replica());
    st.update_state(0);
    // A replica has no writable delay.
    assert!(st.info_text().contains("cluster_my_epoch:1\r\n"));
    assert_eq!(
        st.nodes_text().lines().next(),
        Some("c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 myself,slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316857000 1 connected")
    );
    let out = st.reset(ResetMode::Soft);
    assert!(out.was_replica);
    assert!(st.myself().is_master() && !st.myself().is_replica());
    assert!(st.others().is_empty());
    assert_eq!(
        st.nodes_text(),
        "c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 myself,master - 0 1795316857000 1 connected\n"
    );
}

#[test]
fn from_conf_fills_in_like_redis() {
    // Slot 5 claimed twice (first wins), a referenced master and migration
    // peer never listed, currentEpoch below a config epoch.
    let text = "\
67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 2 connected 0-5 [9-<-a056d55eb2e64e5b0da5faf92997b027a936d969]
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:7001@17001 master - 0 0 6 connected 5-10
c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:7002@17002 slave 97d0ead4e5c58e115da6c7f4f3395ce8886c9075 0 0 0 connected
vars currentEpoch 3 lastVoteEpoch 2
";
    let st =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("parse")).expect("state");
    assert_eq!(st.current_epoch(), 6);
    assert_eq!(st.last_vote_epoch(), 2);
    assert_eq!(st.slot_owner(5).map(|n| n.port), Some(7000));
    assert_eq!(
        st.node(&id("7bf4058ae0586508ce678e72cd5c948ea3e8ded0"))
            .map(|n| n.slots.ranges().collect::<Vec<_>>()),
        Some(vec![(6, 10)])
    );
    assert_eq!(st.nodes().count(), 5);
    let placeholder = st
        .node(&id("97d0ead4e5c58e115da6c7f4f3395ce8886c9075"))
        .expect("added");
    assert!(placeholder.flags.is_empty());
    assert!(st
        .nodes_text()
        .contains("97d0ead4e5c58e115da6c7f4f3395ce8886c9075 :0@0 noflags - 0 0 0 disconnected\n"));
    assert!(st
        .node(&id("a056d55eb2e64e5b0da5faf92997b027a936d969"))
        .is_some());
    assert_eq!(st.open_slots().importing.len(), 1);
}

#[test]
fn importing_cleared_when_slot_assigned() {
    let text = "\
67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected [9-<-a056d55eb2e64e5b0da5faf92997b027a936d969]
vars currentEpoch 0 lastVoteEpoch 0
";
    let mut st =
        ClusterState::from_conf(NodesConf::parse(text.as_bytes()).expect("parse")).expect("state");
    st.add_slots(&args("9")).expect("add");
    assert!(st.open_slots().importing.is_empty());
    assert!(!st.nodes_text().contains('['));
}

#[test]
fn bus_ports() {
    assert_eq!(bus_port_for(6379), Some(16379));
    assert_eq!(bus_port_for(55535), Some(65535));
    assert_eq!(bus_port_for(55536), None);
}

#[test]
fn todo_flags() {
    let mut st = lone();
    let first = st.take_todo();
    assert!(first.save_config && first.update_state && first.slots_changed);
    assert_eq!(st.take_todo(), Todo::default());

    assert!(st.add_slots(&args("1 1")).is_err());
    assert_eq!(st.take_todo(), Todo::default());

    st.add_slots(&args("1")).expect("add");
    let t = st.take_todo();
    assert!(t.save_config && t.update_state && t.slots_changed && !t.fsync_config);

    st.flush_slots();
    assert!(st.take_todo().slots_changed);
    st.flush_slots();
    let t = st.take_todo();
    assert!(t.save_config && !t.slots_changed);

    st.set_my_ports(17001, 27001);
    assert_eq!(st.take_todo(), Todo::default());
    st.set_my_ports(7000, 17000);
    st.set_my_ip("10.0.0.1");
    assert!(st.take_todo().save_config);
    assert!(st.nodes_text().contains(" 10.0.0.1:7000@17000 "));
}

#[test]
fn generation_moves_with_slot_changes_only() {
    let mut st = lone();
    let g0 = st.generation();
    st.add_slots(&args("1 2 3")).unwrap();
    let g1 = st.generation();
    assert!(g1 > g0);
    // A refused change and a change of epochs leave it alone.
    assert!(st.add_slots(&args("1")).is_err());
    st.set_config_epoch(&args("5")).unwrap();
    assert_eq!(st.generation(), g1);
    // Whoever takes the todo, the generation still tells of the change.
    st.del_slots(&args("2")).unwrap();
    let _ = st.take_todo();
    assert!(st.generation() > g1);
}
