#pragma once
// The one list of handlers. Adding an API is one line here plus its handler file;
// dispatch and ApiVersions both read this list, so what the broker advertises
// cannot drift from what it serves.
#include "kafka/server/handlers/alter_configs.h"
#include "kafka/server/handlers/api_versions.h"
#include "kafka/server/handlers/consumer_groups.h"
#include "kafka/server/handlers/create_topics.h"
#include "kafka/server/handlers/describe_cluster.h"
#include "kafka/server/handlers/describe_configs.h"
#include "kafka/server/handlers/describe_topic_partitions.h"
#include "kafka/server/handlers/fetch.h"
#include "kafka/server/handlers/group_admin.h"
#include "kafka/server/handlers/groups.h"
#include "kafka/server/handlers/init_producer_id.h"
#include "kafka/server/handlers/metadata.h"
#include "kafka/server/handlers/partition_reads.h"
#include "kafka/server/handlers/produce.h"
#include "kafka/server/handlers/topic_admin.h"

#include <tuple>

namespace chronik::kafka {

template<class... H>
struct handler_list {
    static_assert((kafka_handler<H> && ...), "every entry must satisfy kafka_handler");
};

using all_handlers = handler_list<
  api_versions_handler, metadata_handler, create_topics_handler, describe_configs_handler, produce_handler,
  fetch_handler, list_offsets_handler, offset_for_leader_epoch_handler, init_producer_id_handler,
  delete_topics_handler, create_partitions_handler, delete_records_handler, alter_configs_handler,
  incremental_alter_configs_handler, describe_cluster_handler, describe_log_dirs_handler,
  describe_producers_handler, find_coordinator_handler, offset_commit_handler, offset_fetch_handler,
  join_group_handler, sync_group_handler, heartbeat_handler, leave_group_handler, describe_groups_handler,
  list_groups_handler, delete_groups_handler, offset_delete_handler, consumer_group_heartbeat_handler,
  consumer_group_describe_handler, describe_topic_partitions_handler>;

} // namespace chronik::kafka
