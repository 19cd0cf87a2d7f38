//! A server with a hub: local subscribers first, then the hub; commands
//! for other nodes go to the hub, commands from it run here; what comes
//! from the hub is never handed back to it.

use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

use super::topics_tests::{join, next, text, Subscriber};
use super::Server;
use crate::close_code::CloseCode;
use crate::hub::{
    Command, CommandError, ConnectionId, Hub, HubStats, InProcess, LocalNode, NodeId, Route,
};
use crate::message::Message;
use std::io;

/// What a hub was asked to do, in order.
#[derive(Debug, PartialEq)]
enum Call {
    Publish(String, Message, Option<ConnectionId>),
    Broadcast(Message),
    Forward(Command),
    Interest(String, bool),
}

#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<Call>>,
    node: Mutex<Option<Arc<dyn LocalNode>>>,
}

#[derive(Clone, Default)]
struct RecordingHub(Arc<Recording>);

impl RecordingHub {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut self.0.calls.lock().unwrap())
    }
    fn note(&self, call: Call) {
        self.0.calls.lock().unwrap().push(call);
    }
    fn node(&self) -> Arc<dyn LocalNode> {
        self.0.node.lock().unwrap().clone().expect("attached")
    }
}

impl Hub for RecordingHub {
    fn attach(&self, node: Arc<dyn LocalNode>) -> io::Result<()> {
        *self.0.node.lock().unwrap() = Some(node);
        Ok(())
    }
    fn detach(&self) {
        *self.0.node.lock().unwrap() = None;
    }
    fn publish(&self, topic: &str, message: &Message, except: Option<&ConnectionId>) {
        self.note(Call::Publish(
            topic.into(),
            message.clone(),
            except.cloned(),
        ));
    }
    fn broadcast(&self, message: &Message) {
        self.note(Call::Broadcast(message.clone()));
    }
    fn forward(&self, command: &Command) -> Result<(), CommandError> {
        self.note(Call::Forward(command.clone()));
        Ok(())
    }
    fn interest(&self, topic: &str, subscribed: bool) {
        self.note(Call::Interest(topic.into(), subscribed));
    }
    fn stats(&self) -> HubStats {
        HubStats::default()
    }
}

fn server(hub: impl Hub) -> (Server, std::sync::mpsc::Receiver<super::topics_tests::Seen>) {
    let (tx, rx) = channel();
    let server = Server::builder()
        .node(NodeId::new("here").unwrap())
        .hub(hub)
        .route("/t", Subscriber(Mutex::new(tx)))
        .bind("127.0.0.1:0")
        .unwrap();
    (server, rx)
}

#[test]
fn a_publish_serves_local_subscribers_then_goes_to_the_hub_with_its_exception() {
    let hub = RecordingHub::default();
    let (server, events) = server(hub.clone());
    let (mut a, a_client) = join(&server, &events, "room");
    let (mut b, b_client) = join(&server, &events, "room");
    assert_eq!(hub.take(), [Call::Interest("room".into(), true)]);
    assert_eq!(a_client.publish("room", &text("hi")), 1);
    assert_eq!(next(&mut b), Some(text("hi")));
    assert_eq!(server.broadcast(&text("all")), 2);
    assert_eq!(next(&mut a), Some(text("all")));
    assert_eq!(
        hub.take(),
        [
            Call::Publish("room".into(), text("hi"), Some(a_client.id().clone())),
            Call::Broadcast(text("all")),
        ]
    );
    assert!(a_client.unsubscribe("room"));
    assert!(hub.take().is_empty(), "b is still on the topic");
    assert!(b_client.unsubscribe("room"));
    assert_eq!(hub.take(), [Call::Interest("room".into(), false)]);
}

#[test]
fn what_comes_from_the_hub_is_served_here_and_never_handed_back() {
    let hub = RecordingHub::default();
    let (server, events) = server(hub.clone());
    let (mut a, a_client) = join(&server, &events, "room");
    let (mut b, _) = join(&server, &events, "room");
    hub.take();
    let node = hub.node();
    assert_eq!(node.node(), server.node());
    assert_eq!(node.topics(), ["room"]);
    assert_eq!(
        node.publish("room", &text("remote"), Some(a_client.id())),
        1
    );
    assert_eq!(next(&mut b), Some(text("remote")));
    assert_eq!(next(&mut a), None);
    assert_eq!(node.broadcast(&text("everyone")), 2);
    assert_eq!(next(&mut a), Some(text("everyone")));
    node.execute(Command::Send {
        to: a_client.id().clone(),
        message: text("for a"),
    })
    .unwrap();
    assert_eq!(next(&mut a), Some(text("for a")));
    assert!(hub.take().is_empty(), "nothing went back to the hub");
}

#[test]
fn commands_run_on_local_connections_and_go_to_the_hub_for_other_nodes() {
    let hub = RecordingHub::default();
    let (server, events) = server(hub.clone());
    let (mut a, a_client) = join(&server, &events, "");
    let clients = server.clients();
    let me = a_client.id().clone();
    let send = |to: &ConnectionId, s: &str| Command::Send {
        to: to.clone(),
        message: text(s),
    };
    assert_eq!(clients.execute(send(&me, "direct")).unwrap(), Route::Local);
    assert_eq!(next(&mut a), Some(text("direct")));
    let sub = Command::Subscribe {
        to: me.clone(),
        topic: "news".into(),
    };
    assert_eq!(clients.execute(sub).unwrap(), Route::Local);
    assert_eq!(a_client.topics(), ["news"]);

    let elsewhere = ConnectionId::new(NodeId::new("there").unwrap(), 7);
    assert_eq!(
        clients.execute(send(&elsewhere, "far")).unwrap(),
        Route::Forwarded
    );
    let gone = ConnectionId::new(server.node().clone(), 9999);
    assert!(matches!(
        clients.execute(send(&gone, "x")),
        Err(CommandError::UnknownConnection)
    ));
    let bad_close = Command::Close {
        to: elsewhere.clone(),
        code: CloseCode::ABNORMAL,
        reason: String::new(),
    };
    assert!(matches!(
        clients.execute(bad_close),
        Err(CommandError::Client(_))
    ));
    assert_eq!(
        hub.take(),
        [
            Call::Interest("news".into(), true),
            Call::Forward(send(&elsewhere, "far")),
        ]
    );
    let close = Command::Close {
        to: me,
        code: CloseCode(4000),
        reason: "bye".into(),
    };
    assert_eq!(clients.execute(close).unwrap(), Route::Local);
    assert!(a.recv().unwrap().is_none());
    assert_eq!(a.close_frame().unwrap().code, CloseCode(4000));
}

#[test]
fn the_in_process_hub_knows_no_other_node() {
    let (server, _events) = server(InProcess);
    let elsewhere = ConnectionId::new(NodeId::new("there").unwrap(), 1);
    let send = Command::Send {
        to: elsewhere,
        message: text("x"),
    };
    assert!(matches!(
        server.clients().execute(send),
        Err(CommandError::UnknownConnection)
    ));
    assert!(server.hub_stats().connected);
}
