//! Tests of the bus codec: real frames of redis-server 7.0.15, a header
//! laid out byte by byte from cluster.h's offsets, round trips, and
//! malformed input.

use super::*;
use crate::cluster::node::NodeFlags;

/// Frames redis-server 7.0.15 sent, captured by a TCP proxy between two
/// nodes: node A (`19e3670c...`, port 7301, hostname `host-a.example`,
/// slots 0-2 100 16383, config epoch 3) and node B (`108ed0db...`, port
/// 7302, bus port announced as 17399); C (`d8127c00...`, port 7303) joined
/// then was shut down.
const REDIS_FRAMES: &str = include_str!("testdata/redis-7.0.15-frames.txt");

const A: &str = "19e3670cf05ba2b3fe05d26c7fce46c6366664b8";
const B: &str = "108ed0dbd2a38d905f537ecfcc55ab5a1a085d10";
const C: &str = "d8127c002bebd863787d1d766062c1f2bfefb4c1";

fn id(s: &str) -> NodeId {
    NodeId::parse(s.as_bytes()).unwrap_or_else(|| panic!("bad id {s}"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn redis_frames() -> Vec<(u16, Vec<u8>)> {
    REDIS_FRAMES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (ty, hex) = l.split_once(' ').expect("line");
            (ty.parse().expect("type"), unhex(hex))
        })
        .collect()
}

#[test]
fn decodes_redis_frames_and_encodes_them_back_byte_for_byte() {
    let frames = redis_frames();
    assert_eq!(frames.len(), 6);
    for (ty, frame) in &frames {
        let msg = decode(frame).unwrap_or_else(|e| panic!("type {ty}: {e}"));
        assert_eq!(msg.body.msg_type(), *ty);
        assert_eq!(frame_len(frame), Ok(frame.len()));
        assert_eq!(&encode(&msg), frame, "type {ty} re-encoded");
    }

    let a_slots = SlotSet::from_ranges(&[(0, 2), (100, 100), (16383, 16383)]);

    // MEET from A: no gossip yet, the hostname extension.
    let meet = decode(&frames[0].1).expect("meet");
    let h = &meet.header;
    assert_eq!(h.sender, id(A));
    assert_eq!((h.port, h.cport, h.pport), (7301, 17301, 0));
    assert_eq!((h.current_epoch, h.config_epoch, h.offset), (3, 3, 0));
    assert_eq!(h.myslots, a_slots);
    assert_eq!(h.slaveof, None);
    assert_eq!(h.myip, "");
    assert_eq!(
        NodeFlags::from_wire(h.flags),
        NodeFlags::MYSELF | NodeFlags::MASTER
    );
    assert_eq!(h.state, 1);
    assert_eq!(h.mflags, [MFLAG0_EXT_DATA, 0, 0]);
    assert_eq!(
        meet.body,
        Body::Meet(Gossip {
            entries: vec![],
            extensions: vec![PingExt::Hostname("host-a.example".into())],
        })
    );

    // PING from A: one gossip entry about C.
    let ping = decode(&frames[1].1).expect("ping");
    let Body::Ping(g) = &ping.body else {
        panic!("not a ping: {:?}", ping.body)
    };
    assert_eq!(
        g.entries,
        vec![GossipEntry {
            node: id(C),
            ping_sent: 0,
            pong_received: 1795334686,
            ip: "127.0.0.1".into(),
            port: 7303,
            cport: 17303,
            flags: 1,
            pport: 0,
        }]
    );
    assert_eq!(
        g.extensions,
        vec![PingExt::Hostname("host-a.example".into())]
    );

    // PONG from B (announced bus port), no slots, epoch 4.
    let pong = decode(&frames[2].1).expect("pong");
    assert_eq!(pong.header.sender, id(B));
    assert_eq!((pong.header.port, pong.header.cport), (7302, 17399));
    assert_eq!(pong.header.config_epoch, 4);
    assert!(pong.header.myslots.is_empty());
    let Body::Pong(g) = &pong.body else {
        panic!("not a pong")
    };
    assert_eq!(g.entries.len(), 1);
    assert!(g.extensions.is_empty());
    assert_eq!(pong.header.mflags, [0; 3]);

    let bare = decode(&frames[3].1).expect("bare pong");
    assert_eq!(bare.body, Body::Pong(Gossip::default()));

    let fail = decode(&frames[4].1).expect("fail");
    assert_eq!(fail.body, Body::Fail { node: id(C) });
    assert_eq!(fail.header.current_epoch, 4);

    let publish = decode(&frames[5].1).expect("publish");
    assert_eq!(
        publish.body,
        Body::Publish {
            channel: b"chan".to_vec(),
            message: b"hello".to_vec()
        }
    );
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

#[test]
fn header_from_c_layout_offsets() {
    // Offsets and sizes written out from cluster.h, independently of the
    // constants the codec uses.
    let mut f = vec![0u8; 2256 + 40];
    put(&mut f, 0, b"RCmb"); // sig[4]
    put(&mut f, 4, &2296u32.to_be_bytes()); // totlen
    put(&mut f, 8, &1u16.to_be_bytes()); // ver
    put(&mut f, 10, &6379u16.to_be_bytes()); // port
    put(&mut f, 12, &3u16.to_be_bytes()); // type FAIL
    put(&mut f, 14, &0u16.to_be_bytes()); // count
    put(&mut f, 16, &0x0102030405060708u64.to_be_bytes()); // currentEpoch
    put(&mut f, 24, &42u64.to_be_bytes()); // configEpoch
    put(&mut f, 32, &123456789u64.to_be_bytes()); // offset
    put(&mut f, 40, A.as_bytes()); // sender[40]
    f[80 + 100 / 8] |= 1 << (100 % 8); // myslots[2048]: slot 100
    f[80 + 2047] |= 0x80; // slot 16383
    put(&mut f, 2128, B.as_bytes()); // slaveof[40]
    put(&mut f, 2168, b"10.1.2.3"); // myip[46]
    put(&mut f, 2214, &0u16.to_be_bytes()); // extensions
    put(&mut f, 2246, &6380u16.to_be_bytes()); // pport
    put(&mut f, 2248, &16379u16.to_be_bytes()); // cport
    put(&mut f, 2250, &(2u16 | 512).to_be_bytes()); // flags: slave, nofailover
    f[2252] = 1; // state
    f[2253] = MFLAG0_FORCEACK; // mflags[3]
    put(&mut f, 2256, C.as_bytes()); // data.fail.about.nodename

    let msg = decode(&f).expect("decode");
    let h = &msg.header;
    assert_eq!(h.port, 6379);
    assert_eq!(h.current_epoch, 0x0102030405060708);
    assert_eq!(h.config_epoch, 42);
    assert_eq!(h.offset, 123456789);
    assert_eq!(h.sender, id(A));
    assert_eq!(h.myslots.iter().collect::<Vec<_>>(), vec![100, 16383]);
    assert_eq!(h.slaveof, Some(id(B)));
    assert_eq!(h.myip, "10.1.2.3");
    assert_eq!((h.pport, h.cport), (6380, 16379));
    assert_eq!(
        NodeFlags::from_wire(h.flags),
        NodeFlags::SLAVE | NodeFlags::NOFAILOVER
    );
    assert_eq!(h.state, 1);
    assert_eq!(h.mflags, [MFLAG0_FORCEACK, 0, 0]);
    assert_eq!(msg.body, Body::Fail { node: id(C) });
    assert_eq!(encode(&msg), f);

    // The codec's constants agree with the layout.
    assert_eq!(
        [
            OFF_SIG,
            OFF_TOTLEN,
            OFF_VER,
            OFF_PORT,
            OFF_TYPE,
            OFF_COUNT,
            OFF_CURRENT_EPOCH,
            OFF_CONFIG_EPOCH,
            OFF_OFFSET,
            OFF_SENDER,
            OFF_MYSLOTS,
            OFF_SLAVEOF,
            OFF_MYIP,
            OFF_EXTENSIONS,
            OFF_NOTUSED,
            OFF_PPORT,
            OFF_CPORT,
            OFF_FLAGS,
            OFF_STATE,
            OFF_MFLAGS,
            OFF_DATA
        ],
        [
            0, 4, 8, 10, 12, 14, 16, 24, 32, 40, 80, 2128, 2168, 2214, 2216, 2246, 2248, 2250,
            2252, 2253, 2256
        ]
    );
    assert_eq!((HEADER_LEN, GOSSIP_LEN, UPDATE_LEN), (2256, 104, 2096));
    assert_eq!(MSG_STRUCT_LEN, 4352);
}

fn header() -> Header {
    let mut h = Header::new(id(A));
    h.port = 7000;
    h.cport = 17000;
    h.current_epoch = 9;
    h.config_epoch = 7;
    h.offset = 1 << 40;
    h.myslots = SlotSet::from_ranges(&[(0, 5460)]);
    h.myip = "2001:db8::1".into();
    h.flags = (NodeFlags::MYSELF | NodeFlags::MASTER).to_wire();
    h
}

fn entry(node: &str, port: u16) -> GossipEntry {
    GossipEntry {
        node: id(node),
        ping_sent: 17,
        pong_received: 1_700_000_000,
        ip: "192.168.1.20".into(),
        port,
        cport: port + 10000,
        flags: NodeFlags::SLAVE.to_wire(),
        pport: 0,
    }
}

fn samples() -> Vec<Message> {
    let mut with_ext = header();
    with_ext.mflags[0] = MFLAG0_EXT_DATA;
    let gossip = Gossip {
        entries: vec![entry(B, 7001), entry(C, 7002)],
        extensions: vec![
            PingExt::Hostname("a-rather-long-host-name.example.com".into()),
            PingExt::HumanNodename("n1".into()),
            PingExt::ForgottenNode {
                node: id(C),
                ttl: 59,
            },
            PingExt::ShardId(*b"0123456789abcdef0123456789abcdef01234567"),
            PingExt::Unknown {
                ext_type: 77,
                data: vec![1, 2, 3, 4, 5, 6, 7, 8],
            },
            PingExt::Hostname(String::new()),
        ],
    };
    let mut replica = header();
    replica.slaveof = Some(id(B));
    vec![
        Message {
            header: with_ext.clone(),
            body: Body::Ping(gossip.clone()),
        },
        Message {
            header: with_ext.clone(),
            body: Body::Pong(gossip.clone()),
        },
        Message {
            header: with_ext,
            body: Body::Meet(gossip),
        },
        Message {
            header: header(),
            body: Body::Ping(Gossip::default()),
        },
        Message {
            header: replica.clone(),
            body: Body::Fail { node: id(C) },
        },
        Message {
            header: header(),
            body: Body::Publish {
                channel: b"news".to_vec(),
                message: vec![0, 1, 2, 255],
            },
        },
        Message {
            header: header(),
            body: Body::PublishShard {
                channel: Vec::new(),
                message: Vec::new(),
            },
        },
        Message {
            header: replica,
            body: Body::FailoverAuthRequest,
        },
        Message {
            header: header(),
            body: Body::FailoverAuthAck,
        },
        Message {
            header: header(),
            body: Body::Update {
                config_epoch: 12,
                node: id(B),
                slots: SlotSet::from_ranges(&[(1, 1), (5000, 6000)]),
            },
        },
        Message {
            header: header(),
            body: Body::MfStart,
        },
        Message {
            header: header(),
            body: Body::Module {
                module_id: 0xdead_beef,
                module_type: 3,
                len: 5,
            },
        },
        Message {
            header: header(),
            body: Body::Unknown { msg_type: 42 },
        },
    ]
}

#[test]
fn round_trips() {
    for msg in samples() {
        let bytes = encode(&msg);
        assert_eq!(frame_len(&bytes), Ok(bytes.len()), "{:?}", msg.body);
        let back = decode(&bytes).unwrap_or_else(|e| panic!("{:?}: {e}", msg.body));
        assert_eq!(back, msg);
        assert_eq!(encode(&back), bytes);
    }
}

#[test]
fn lengths_follow_redis() {
    let s = samples();
    // PING with two entries and extensions: 8-byte aligned extension sizes.
    let hostname_ext = 8 + (35 + 1usize).div_ceil(8) * 8;
    let ext_len = hostname_ext + 8 + 8 + (8 + 48) + (8 + 40) + (8 + 8) + (8 + 8);
    assert_eq!(encode(&s[0]).len(), 2256 + 2 * 104 + ext_len);
    assert_eq!(encode(&s[3]).len(), 2256);
    assert_eq!(encode(&s[4]).len(), 2296);
    assert_eq!(encode(&s[5]).len(), 2256 + 8 + 4 + 4);
    assert_eq!(encode(&s[7]).len(), 2256);
    assert_eq!(encode(&s[9]).len(), 4352);
    assert_eq!(encode(&s[11]).len(), 2256 + 13 + 5);
    // Extensions set the flag even when the header did not.
    let mut msg = s[0].clone();
    msg.header.mflags = [0; 3];
    let bytes = encode(&msg);
    assert_eq!(bytes[OFF_MFLAGS], MFLAG0_EXT_DATA);
    assert_eq!(u16::from_be_bytes([bytes[2214], bytes[2215]]), 6);
    assert_eq!(u16::from_be_bytes([bytes[14], bytes[15]]), 2);
}

#[test]
fn frame_len_checks() {
    let ok = encode(&samples()[3]);
    assert_eq!(frame_len(&ok[..8]), Ok(2256));
    assert_eq!(
        frame_len(&ok[..7]),
        Err(BusError::Truncated { needed: 8, got: 7 })
    );
    assert_eq!(frame_len(b"RCmc\0\0\x08\xd0"), Err(BusError::BadSignature));
    assert_eq!(
        frame_len(b"RCmb\0\0\x08\xcf"),
        Err(BusError::BadFrameLength(2255))
    );
    assert_eq!(
        frame_len(b"RCmb\xff\xff\xff\xff"),
        Err(BusError::BadFrameLength(u32::MAX))
    );
    assert_eq!(frame_len(b"RCmb\x40\0\0\0"), Ok(1 << 30));
    assert!(frame_len(b"RCmb\x40\0\x10\0").is_err());
}

fn set_u16(f: &mut [u8], off: usize, v: u16) {
    put(f, off, &v.to_be_bytes());
}

fn set_u32(f: &mut [u8], off: usize, v: u32) {
    put(f, off, &v.to_be_bytes());
}

#[test]
fn rejects_malformed_messages() {
    let s = samples();
    let ping = encode(&s[0]);
    let bare = encode(&s[3]);

    // Frame shorter or longer than totlen.
    assert!(matches!(
        decode(&ping[..ping.len() - 1]),
        Err(BusError::FrameLengthMismatch { .. })
    ));
    let mut longer = ping.clone();
    longer.push(0);
    assert!(matches!(
        decode(&longer),
        Err(BusError::FrameLengthMismatch { .. })
    ));
    assert!(decode(&[]).is_err());
    assert!(decode(b"RCmb").is_err());

    // Version.
    let mut v = bare.clone();
    set_u16(&mut v, OFF_VER, 2);
    assert_eq!(decode(&v), Err(BusError::BadVersion(2)));

    // Gossip count past the end, and short of it.
    let mut c = ping.clone();
    set_u16(&mut c, OFF_COUNT, 300);
    assert!(matches!(decode(&c), Err(BusError::BadLength { .. })));
    let mut c = ping.clone();
    set_u16(&mut c, OFF_COUNT, 1);
    assert!(decode(&c).is_err());

    // Extensions: count past the data, bad length, unpadded, zero.
    let ext_start = HEADER_LEN + 2 * GOSSIP_LEN;
    let mut e = ping.clone();
    set_u16(&mut e, OFF_EXTENSIONS, 7);
    assert!(matches!(
        decode(&e),
        Err(BusError::BadExtension { index: 6, .. })
    ));
    let mut e = ping.clone();
    set_u16(&mut e, OFF_EXTENSIONS, 5);
    assert!(matches!(decode(&e), Err(BusError::BadLength { .. })));
    for bad in [0u32, 4, 12, 1 << 20, u32::MAX] {
        let mut e = ping.clone();
        set_u32(&mut e, ext_start, bad);
        assert!(
            matches!(decode(&e), Err(BusError::BadExtension { index: 0, .. })),
            "length {bad}"
        );
    }
    // Without EXT_DATA the extensions are not read, so the bytes are extra.
    let mut e = ping.clone();
    e[OFF_MFLAGS] = 0;
    assert!(matches!(decode(&e), Err(BusError::BadLength { .. })));
    // A hostname without its NUL.
    let mut e = ping.clone();
    for b in &mut e[ext_start + 8..ext_start + 8 + 40] {
        *b = b'x';
    }
    assert_eq!(decode(&e), Err(BusError::BadField("hostname extension")));

    // Strings that do not end in their arrays, and bad names.
    let mut m = bare.clone();
    for b in &mut m[OFF_MYIP..OFF_MYIP + IP_LEN] {
        *b = b'1';
    }
    assert_eq!(decode(&m), Err(BusError::BadField("myip")));
    let mut g = ping.clone();
    for b in &mut g[HEADER_LEN + 48..HEADER_LEN + 48 + IP_LEN] {
        *b = b'1';
    }
    assert_eq!(decode(&g), Err(BusError::BadField("gossip ip")));
    // Addresses that would break nodes.conf lines.
    for bad in [
        &b"10.0.0.1 x\0"[..],
        b"10.0.0.1,x\0",
        b"a@b\0",
        b"\x01\0",
        b"\xc3\xa9\0",
    ] {
        let mut m = bare.clone();
        m[OFF_MYIP..OFF_MYIP + bad.len()].copy_from_slice(bad);
        assert_eq!(decode(&m), Err(BusError::BadField("myip")), "{bad:?}");
    }
    let mut n = bare.clone();
    n[OFF_SENDER] = b'G';
    assert_eq!(decode(&n), Err(BusError::BadField("sender")));
    let mut n = bare.clone();
    n[OFF_SLAVEOF + 39] = b'a';
    assert_eq!(decode(&n), Err(BusError::BadField("slaveof")));
    let mut n = ping.clone();
    n[HEADER_LEN] = 0;
    assert_eq!(decode(&n), Err(BusError::BadField("gossip nodename")));

    // Fixed-size bodies with the wrong length.
    let fail = encode(&s[4]);
    let mut short = fail[..fail.len() - 1].to_vec();
    set_u32(&mut short, OFF_TOTLEN, (fail.len() - 1) as u32);
    assert!(matches!(decode(&short), Err(BusError::BadLength { .. })));
    let mut auth = encode(&s[7]);
    auth.extend_from_slice(&[0; 8]);
    let len = auth.len() as u32;
    set_u32(&mut auth, OFF_TOTLEN, len);
    assert!(matches!(decode(&auth), Err(BusError::BadLength { .. })));

    // PUBLISH lengths that overflow or disagree with totlen.
    let publish = encode(&s[5]);
    for (ch, msg) in [(u32::MAX, u32::MAX), (5, 4), (4, 3), (0, 0)] {
        let mut p = publish.clone();
        set_u32(&mut p, HEADER_LEN, ch);
        set_u32(&mut p, HEADER_LEN + 4, msg);
        assert!(
            matches!(decode(&p), Err(BusError::BadLength { .. })),
            "{ch} {msg}"
        );
    }
    // A PUBLISH too short for its lengths.
    let mut p = bare.clone();
    set_u16(&mut p, OFF_TYPE, TYPE_PUBLISH);
    assert!(matches!(decode(&p), Err(BusError::BadLength { .. })));
    // A MODULE whose payload length disagrees.
    let mut m = encode(&s[11]);
    set_u32(&mut m, HEADER_LEN + 8, 6);
    assert!(matches!(decode(&m), Err(BusError::BadLength { .. })));

    // Unknown types are accepted whatever their length, as Redis does.
    let mut u = encode(&s[12]);
    u.extend_from_slice(b"whatever");
    let len = u.len() as u32;
    set_u32(&mut u, OFF_TOTLEN, len);
    assert_eq!(
        decode(&u).map(|m| m.body),
        Ok(Body::Unknown { msg_type: 42 })
    );
}

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `frame` damaged in one of a few ways: bytes flipped (often in the
/// header's length and count fields), cut, or extended.
fn mutate(frame: &[u8], rng: &mut Lcg) -> Vec<u8> {
    let mut f = frame.to_vec();
    match rng.below(6) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(f.len());
                f[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            // The fields lengths come from.
            let hot = [4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 2214, 2215, 2253];
            let i = hot[rng.below(hot.len())];
            f[i] = rng.next() as u8;
        }
        2 => f.truncate(rng.below(f.len())),
        3 => {
            let extra = rng.below(300);
            f.extend((0..extra).map(|_| rng.next() as u8));
            let len = f.len() as u32;
            f[4..8].copy_from_slice(&len.to_be_bytes());
        }
        4 => {
            // Bytes in the body.
            if f.len() > HEADER_LEN {
                let i = HEADER_LEN + rng.below(f.len() - HEADER_LEN);
                f[i] = rng.next() as u8;
            }
        }
        _ => {
            // A cut with totlen fixed up to match.
            let cut = HEADER_LEN + rng.below(f.len().saturating_sub(HEADER_LEN) + 1);
            f.truncate(cut.min(f.len()));
            let len = f.len() as u32;
            f[4..8].copy_from_slice(&len.to_be_bytes());
        }
    }
    f
}

#[test]
fn mutated_frames_never_panic() {
    let mut frames: Vec<Vec<u8>> = samples().iter().map(encode).collect();
    frames.extend(redis_frames().into_iter().map(|(_, f)| f));
    let mut rng = Lcg(0x5eed);
    let mut errors = 0;
    for round in 0..3000 {
        let base = &frames[round % frames.len()];
        let f = mutate(base, &mut rng);
        let _ = frame_len(&f);
        match decode(&f) {
            Ok(msg) => {
                // Whatever decodes encodes back to something that decodes
                // to the same message.
                let again = encode(&msg);
                assert_eq!(decode(&again).as_ref(), Ok(&msg));
            }
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(errors > 1000, "only {errors} errors");
}
