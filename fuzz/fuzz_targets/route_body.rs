//! A route body from a name server: decoding never panics, what decodes re-encodes to a body
//! that decodes to the same route, and publish info built from it stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_client::route::TopicPublishInfo;
use rmq_remoting::body::TopicRouteData;

fuzz_target!(|data: &[u8]| {
    let Ok(route) = TopicRouteData::from_json(data) else {
        return;
    };
    let again = TopicRouteData::from_json(&route.to_json()).expect("re-encoded route decodes");
    assert_eq!(again, route);
    // Absurd queue counts are a typed error, never an allocation of their size.
    let _ = TopicPublishInfo::from_route("FuzzTopic", route);
});
