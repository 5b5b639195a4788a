#include "cluster/errc.h"

#include <string>

namespace chronik::cluster {

namespace {
struct category final : std::error_category {
    const char* name() const noexcept override { return "cluster"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::not_leader:
                return "this replica does not lead the partition";
            case errc::shutting_down:
                return "the partition is closing";
            case errc::replication_backlog:
                return "too much data waits for the replicas; retry";
            case errc::not_enough_replicas:
                return "fewer replicas are in sync than min.insync.replicas";
            case errc::not_enough_replicas_after_append:
                return "the in-sync replicas fell below min.insync.replicas after the append";
            case errc::topic_exists:
                return "topic already exists";
            case errc::unknown_topic:
                return "unknown topic";
            case errc::invalid_partitions:
                return "invalid number of partitions";
            case errc::invalid_replication_factor:
                return "replication factor larger than the number of brokers";
            case errc::invalid_replica_assignment:
                return "the replica assignment names an unknown broker, one twice, or differs in size";
            case errc::invalid_config:
                return "invalid config";
            case errc::invalid_request:
                return "invalid request";
            case errc::controller_unavailable:
                return "the controller cannot store the change";
            case errc::not_controller:
                return "this node does not lead the controller";
        }
        return "unknown cluster error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static category c;
    return c;
}

} // namespace chronik::cluster
