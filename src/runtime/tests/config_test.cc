#include "runtime/config.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace chronik::runtime {
namespace {

result<config> load(std::vector<std::string> args, std::vector<std::string> env, std::string& err) {
    std::vector<char*> envp;
    for (auto& e : env) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    return load_config(args, envp.data(), err);
}

TEST(config, defaults) {
    std::string err;
    auto c = load({}, {}, err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c.value().listen, "127.0.0.1:9092");
    EXPECT_EQ(c.value().advertised_listener, "127.0.0.1:9092");
    EXPECT_EQ(c.value().data_dir, "./data");
    EXPECT_EQ(c.value().stall_threshold.count(), 50);
}

TEST(config, precedence_is_defaults_then_file_then_env_then_flags) {
    std::string path = ::testing::TempDir() + "chronik_config_test.toml";
    {
        std::ofstream f(path);
        f << "data_dir = \"/from/file\"\nsmp = 2\nlog_level = \"warn\"\nnode_id = 7\n"
             "[kafka]\n\"num.partitions\" = 3\n";
    }
    std::string err;
    auto c = load({ "--config", path, "--data-dir", "/from/flag" },
                  { "CHRONIK_SMP=4", "CHRONIK_DATA_DIR=/from/env" }, err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c.value().data_dir, "/from/flag");
    EXPECT_EQ(c.value().smp, 4u);
    EXPECT_EQ(c.value().log, log_level::warn);
    EXPECT_EQ(c.value().node_id, 7);
    EXPECT_EQ(c.value().kafka.at("num.partitions"), "3");
    std::remove(path.c_str());
}

TEST(config, unknown_keys_and_bad_values_are_refused_by_name) {
    std::string err;
    EXPECT_FALSE(load({ "--no-such-thing", "1" }, {}, err));
    EXPECT_NE(err.find("no_such_thing"), std::string::npos) << err;
    EXPECT_FALSE(load({}, { "CHRONIK_SMP=lots" }, err));
    EXPECT_NE(err.find("smp"), std::string::npos) << err;
    EXPECT_NE(err.find("CHRONIK_SMP"), std::string::npos) << err;
    EXPECT_FALSE(load({ "--listen", "nonsense" }, {}, err));
    EXPECT_NE(err.find("listen"), std::string::npos) << err;
    EXPECT_FALSE(load({ "--stall-threshold-ms", "0" }, {}, err));

    std::string path = ::testing::TempDir() + "chronik_config_bad.toml";
    {
        std::ofstream f(path);
        f << "listen = \"127.0.0.1:9092\"\ntypo_key = 1\n";
    }
    EXPECT_FALSE(load({ "--config", path }, {}, err));
    EXPECT_NE(err.find("typo_key"), std::string::npos) << err;
    EXPECT_NE(err.find("line 2"), std::string::npos) << err;
    std::remove(path.c_str());
}

TEST(config, set_names_kafka_settings_even_without_a_dot) {
    std::string err;
    auto c = load({ "--set", "listeners=PLAINTEXT://:9093", "--set", "num.partitions=2", "--set", "smp=3" },
                  {}, err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c.value().kafka.at("listeners"), "PLAINTEXT://:9093"); // the broker refuses it by name
    EXPECT_EQ(c.value().kafka.at("num.partitions"), "2");
    EXPECT_EQ(c.value().smp, 3u); // ours, as before
}

TEST(config, voters_and_the_rpc_listener_come_together) {
    std::string err;
    auto c = load({ "--node-id", "2", "--rpc-listen", "127.0.0.1:9093", "--voters",
                    "1@127.0.0.1:9193,2@127.0.0.1:9093,3@host-c:9393" },
                  {}, err);
    ASSERT_TRUE(c) << err;
    ASSERT_EQ(c.value().voters.size(), 3u);
    EXPECT_EQ(c.value().voters[2], (config::voter{ 3, "host-c", 9393 }));
    EXPECT_EQ(c.value().rpc_listen, "127.0.0.1:9093");
    // The same from the environment.
    c = load({}, { "CHRONIK_VOTERS=1@a:1", "CHRONIK_RPC_LISTEN=a:1" }, err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c.value().voters.size(), 1u);
    for (const char* bad : { "1@a", "x@a:1", "1@a:1,1@b:2", "1@a:0", "1@:5", "," }) {
        EXPECT_FALSE(load({ "--rpc-listen", "a:1", "--voters", bad }, {}, err)) << bad;
        EXPECT_NE(err.find("voters"), std::string::npos) << err;
    }
    EXPECT_FALSE(load({ "--voters", "1@a:1" }, {}, err));
    EXPECT_NE(err.find("rpc_listen"), std::string::npos) << err;
    EXPECT_FALSE(load({ "--rpc-listen", "a:1" }, {}, err));
    EXPECT_NE(err.find("voters"), std::string::npos) << err;
}

} // namespace
} // namespace chronik::runtime
