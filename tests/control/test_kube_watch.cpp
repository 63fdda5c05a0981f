// Following a cluster without a network: decoding the API's answers, the list/watch cycle with
// an injected clock, the cluster cache, its merge with the manifests, and the apply pacing.
#include <gtest/gtest.h>

#include "control/kube/api_decode.hpp"
#include "control/kube/cluster_cache.hpp"
#include "control/kube/cluster_merge.hpp"
#include "control/kube/sync_pacer.hpp"
#include "control/kube/watch_machine.hpp"
#include "temp_config.hpp"

using namespace nfgate::kube;
using nfgate::Model;
using nfgate::loader::Diag;
using std::chrono::milliseconds;

namespace {

std::string all(const std::vector<Diag>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.str() + "\n";
    return s;
}

std::string service_json(const std::string& name, const std::string& ip, int port, const std::string& rv = "7") {
    return R"({"kind":"Service","apiVersion":"v1","metadata":{"name":")" + name +
           R"(","namespace":"shop","resourceVersion":")" + rv + R"("},"spec":{"type":"ClusterIP","clusterIP":")" + ip +
           R"(","ports":[{"name":"http","protocol":"TCP","port":)" + std::to_string(port) + R"(,"targetPort":8080}]}})";
}

std::string slice_json(const std::string& name, const std::string& svc, const std::string& ip) {
    return R"({"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":")" + name +
           R"(","namespace":"shop","labels":{"kubernetes.io/service-name":")" + svc +
           R"("}},"addressType":"IPv4","ports":[{"name":"http","protocol":"TCP","port":8080}],"endpoints":[{"addresses":[")" +
           ip + R"("],"conditions":{"ready":true}}]})";
}

WatchEvent event(const std::string& type, const std::string& object, Resource r = Resource::services) {
    WatchEvent ev;
    std::string err;
    EXPECT_TRUE(decode_event(R"({"type":")" + type + R"(","object":)" + object + "}", r, Model{}, ev, err)) << err;
    return ev;
}

TEST(ApiDecode, WatchEventsIntoLoaderTypes) {
    WatchEvent added = event("ADDED", service_json("web", "10.96.0.10", 80, "41"));
    EXPECT_EQ(added.type, WatchEvent::Type::added);
    EXPECT_EQ(added.resource_version, "41");
    ASSERT_TRUE(added.object.service);
    EXPECT_EQ(added.object.key.str(), "Service shop/web");
    EXPECT_EQ(added.object.service->svc.ports.at(0).port, 80);

    WatchEvent slice = event("MODIFIED", slice_json("web-1", "web", "10.244.1.5"), Resource::endpoint_slices);
    ASSERT_TRUE(slice.object.slice);
    EXPECT_EQ(slice.object.slice->service_name, "web");
    EXPECT_EQ(slice.object.slice->addresses.size(), 1u);

    WatchEvent bookmark = event("BOOKMARK", R"({"kind":"Service","metadata":{"resourceVersion":"99"}})");
    EXPECT_EQ(bookmark.type, WatchEvent::Type::bookmark);
    EXPECT_EQ(bookmark.resource_version, "99");

    WatchEvent gone = event("ERROR", R"J({"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"too old resource version: 1 (50)"})J");
    EXPECT_EQ(gone.type, WatchEvent::Type::error);
    EXPECT_EQ(gone.code, 410);
    EXPECT_NE(gone.message.find("too old"), std::string::npos);
}

TEST(ApiDecode, AnInvalidObjectIsNamedWithoutAFileLine) {
    WatchEvent bad = event("ADDED", service_json("broken", "10.96.0.11", 70000));
    EXPECT_FALSE(bad.object.usable());
    ASSERT_EQ(bad.object.errors.size(), 1u);
    EXPECT_EQ(bad.object.errors[0].str(), "kubernetes API: Service shop/broken: spec.ports[0].port: 70000 is out of range (want 1-65535)");
    std::string err;
    WatchEvent ev;
    EXPECT_FALSE(decode_event("{\"type\":\"ADDED\"", Resource::services, Model{}, ev, err));
    EXPECT_FALSE(decode_event(R"({"type":"SOMETHING","object":{}})", Resource::services, Model{}, ev, err));
    EXPECT_NE(err.find("SOMETHING"), std::string::npos);
}

TEST(ApiDecode, ListPageWithContinueAndItemsWithoutKind) {
    std::string body = R"({"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"120","continue":"abc"},"items":[)" +
                       service_json("a", "10.96.0.1", 80) + "," + service_json("b", "10.96.0.2", 81) + "]}";
    ListPage page;
    std::string err;
    ASSERT_TRUE(decode_list(body, Resource::services, Model{}, page, err)) << err;
    EXPECT_EQ(page.resource_version, "120");
    EXPECT_EQ(page.continue_token, "abc");
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_TRUE(page.items[1].usable());
    EXPECT_FALSE(decode_list(R"({"items":[]})", Resource::services, Model{}, page, err));
    EXPECT_NE(err.find("resourceVersion"), std::string::npos);
}

struct Machine {
    WatchTiming timing;
    double jitter = 0;
    WatchMachine m;
    Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
    explicit Machine(Resource r = Resource::services) : timing(WatchTiming{}), m(r, timing, [this] { return jitter; }) {}
};

TEST(WatchMachine, ListPagesThenWatchFromTheListsVersion) {
    Machine w;
    EXPECT_EQ(w.m.next().target, "/api/v1/services?limit=500");
    w.m.on_list_page("10", "tok/1=");
    EXPECT_EQ(w.m.next().target, "/api/v1/services?limit=500&continue=tok%2F1%3D");
    w.m.on_list_page("12", "");
    EXPECT_EQ(w.m.phase(), WatchMachine::Phase::watching);
    EXPECT_EQ(w.m.next().target, "/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=12&timeoutSeconds=300");
    w.m.on_watch_started(w.t0);
    w.m.on_event("15");
    w.m.on_watch_end(w.t0 + std::chrono::seconds(300));
    EXPECT_EQ(w.m.next().target, "/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=15&timeoutSeconds=300");
    EXPECT_EQ(w.m.next().not_before, w.t0 + std::chrono::seconds(300));
    Machine s(Resource::endpoint_slices);
    EXPECT_EQ(s.m.next().target, "/apis/discovery.k8s.io/v1/endpointslices?limit=500");
}

TEST(WatchMachine, GoneRelistsAtOnce) {
    Machine w;
    w.m.on_list_page("12", "");
    w.m.on_watch_started(w.t0);
    w.m.on_gone(w.t0 + milliseconds(5));
    EXPECT_EQ(w.m.phase(), WatchMachine::Phase::listing);
    EXPECT_EQ(w.m.next().target, "/api/v1/services?limit=500");
    EXPECT_EQ(w.m.next().not_before, w.t0 + milliseconds(5));
    EXPECT_TRUE(w.m.resource_version().empty());
}

TEST(WatchMachine, FailuresBackOffWithJitterUpToTheCap) {
    Machine w;
    w.m.on_list_page("1", "next");
    std::vector<int64_t> delays;
    for (int i = 0; i < 9; ++i) {
        w.m.on_failure(w.t0);
        delays.push_back(w.m.last_backoff().count());
    }
    // jitter 0: half of 500 ms doubling, capped at 30 s.
    EXPECT_EQ(delays, (std::vector<int64_t>{250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000}));
    EXPECT_EQ(w.m.next().target, "/api/v1/services?limit=500");  // the broken list starts over
    w.jitter = 0.999;
    w.m.on_failure(w.t0);
    EXPECT_GT(w.m.last_backoff().count(), 29'000);
    EXPECT_LE(w.m.last_backoff().count(), 30'000);
    EXPECT_EQ(w.m.next().not_before, w.t0 + w.m.last_backoff());
    w.m.on_list_page("3", "");
    EXPECT_EQ(w.m.failures(), 0u);
}

TEST(WatchMachine, AWatchThatEndsAtOnceWithNothingCountsAsAFailure) {
    Machine w;
    w.m.on_list_page("3", "");
    w.m.on_watch_started(w.t0);
    w.m.on_watch_end(w.t0 + milliseconds(10));
    EXPECT_EQ(w.m.failures(), 1u);
    EXPECT_GT(w.m.next().not_before, w.t0 + milliseconds(10));
    w.m.on_watch_started(w.t0 + std::chrono::seconds(1));
    w.m.on_event("4");
    w.m.on_watch_end(w.t0 + std::chrono::seconds(1) + milliseconds(10));
    EXPECT_EQ(w.m.failures(), 0u);
}

Change one(Change::Op op, const WatchEvent& ev, Resource r = Resource::services) {
    return Change{op, r, {ev.object}};
}

TEST(ClusterCache, UpsertRemoveReplaceAndIdenticalResyncs) {
    ClusterCache cache;
    std::vector<Diag> errors, notices;
    EXPECT_TRUE(cache.apply(one(Change::Op::upsert, event("ADDED", service_json("a", "10.96.0.1", 80))), errors, notices));
    EXPECT_FALSE(cache.apply(one(Change::Op::upsert, event("MODIFIED", service_json("a", "10.96.0.1", 80, "8"))), errors, notices));
    EXPECT_TRUE(cache.apply(one(Change::Op::upsert, event("MODIFIED", service_json("a", "10.96.0.1", 81, "9"))), errors, notices));
    EXPECT_TRUE(cache.apply(one(Change::Op::upsert, event("ADDED", service_json("b", "10.96.0.2", 80))), errors, notices));
    EXPECT_EQ(cache.size(), 2u);
    // A relist that no longer holds b: b was deleted while nobody watched.
    Change relist{Change::Op::replace, Resource::services, {event("ADDED", service_json("a", "10.96.0.1", 81)).object}};
    EXPECT_TRUE(cache.apply(relist, errors, notices));
    EXPECT_EQ(cache.size(), 1u);
    // An object that turns invalid is skipped, logged, and no longer served.
    EXPECT_TRUE(cache.apply(one(Change::Op::upsert, event("MODIFIED", service_json("a", "10.96.0.1", 0))), errors, notices));
    EXPECT_EQ(cache.size(), 0u);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].str().find("Service shop/a: spec.ports[0].port"), std::string::npos);
    EXPECT_FALSE(cache.apply(one(Change::Op::remove, event("DELETED", service_json("a", "10.96.0.1", 0))), errors, notices));
}

nfgate::loader::LoadedSources files_with(nfgate::testsupport::TempConfig& cfg, const std::string& manifest) {
    cfg.write("m.yaml", manifest);
    return nfgate::loader::load_sources(cfg.write("gw.yaml", "serviceCIDRs: [10.96.0.0/16]\nmanifests: [m.yaml]\n"), {});
}

TEST(ClusterMerge, FilesAddObjectsAndAConflictNamesBoth) {
    nfgate::testsupport::TempConfig cfg;
    auto files = files_with(cfg, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
                                 "spec:\n  clusterIP: 10.96.0.50\n  ports: [{port: 80}]\n");
    ASSERT_TRUE(files.errors.empty()) << all(files.errors);
    ClusterCache cache;
    std::vector<Diag> errors, notices;
    cache.apply(one(Change::Op::upsert, event("ADDED", service_json("api", "10.96.0.1", 80))), errors, notices);
    cache.apply(one(Change::Op::upsert, event("ADDED", service_json("web", "10.96.0.2", 80))), errors, notices);
    cache.apply(one(Change::Op::upsert, event("ADDED", slice_json("api-1", "api", "10.244.0.9"), Resource::endpoint_slices),
                    Resource::endpoint_slices),
                errors, notices);
    MergeResult merged = merge_cluster(files, cache);
    ASSERT_TRUE(merged.load.ok()) << all(merged.load.errors);
    ASSERT_EQ(merged.load.model.services.size(), 2u);
    EXPECT_EQ(merged.load.model.services[0].name, "api");
    EXPECT_EQ(merged.load.model.services[0].ports.at(0).endpoints.size(), 1u);
    EXPECT_EQ(merged.load.model.services[1].cluster_ips.at(0), (10u << 24 | 96u << 16 | 50u));  // the file's web
    ASSERT_EQ(merged.skipped.size(), 1u);
    EXPECT_EQ(merged.skipped[0].str(), cfg.path("m.yaml") + ":1: Service shop/web: metadata.name: defined both here and by the "
                                       "kubernetes API (want it in one place; the file's copy is served)");
}

TEST(ClusterMerge, AnApiObjectTheCrossChecksRefuseIsLeftOutTheRestServes) {
    nfgate::testsupport::TempConfig cfg;
    auto files = files_with(cfg, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
                                 "spec:\n  clusterIP: 10.96.0.50\n  ports: [{port: 80}]\n");
    ClusterCache cache;
    std::vector<Diag> errors, notices;
    cache.apply(one(Change::Op::upsert, event("ADDED", service_json("api", "10.96.0.1", 80))), errors, notices);
    cache.apply(one(Change::Op::upsert, event("ADDED", service_json("thief", "10.96.0.50", 80))), errors, notices);
    MergeResult merged = merge_cluster(files, cache);
    ASSERT_TRUE(merged.load.ok()) << all(merged.load.errors);
    EXPECT_EQ(merged.load.model.services.size(), 2u);
    ASSERT_FALSE(merged.skipped.empty());
    EXPECT_NE(all(merged.skipped).find("kubernetes API: Service shop/thief"), std::string::npos) << all(merged.skipped);
}

TEST(SyncPacer, FirstChangeAtOnceThenAtMostOncePerPeriod) {
    SyncPacer p(milliseconds(1000));
    const auto t0 = SyncPacer::Clock::time_point{} + std::chrono::hours(1);
    EXPECT_FALSE(p.ready(t0));
    p.changed();
    EXPECT_TRUE(p.ready(t0));
    p.applied(t0);
    for (int i = 1; i <= 1000; ++i) p.changed();  // a burst
    EXPECT_FALSE(p.ready(t0 + milliseconds(999)));
    EXPECT_EQ(p.due(), t0 + milliseconds(1000));
    EXPECT_TRUE(p.ready(t0 + milliseconds(1000)));
    p.applied(t0 + milliseconds(1000));
    EXPECT_FALSE(p.dirty());
    EXPECT_FALSE(p.due());
}

}  // namespace
